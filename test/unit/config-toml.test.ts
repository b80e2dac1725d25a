import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStaticConfig } from '../../src/config/load';
import { readDynamicFiles } from '../../providers/file/read';
import { errorMessage } from '../../src/errors';

/**
 * TOML static and dynamic files, read from real files: the same
 * configuration as its YAML twin (same decoders, key names and case rules),
 * and every error at `file:line`, with the field path when it is a field's.
 */
const dir = mkdtempSync(join(tmpdir(), 'portier-toml-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const staticOf = (name: string, text: string): unknown => {
  writeFileSync(join(dir, name), text);
  return loadStaticConfig({ file: join(dir, name), env: {}, flags: [], cwd: dir }).config;
};
const dynamicOf = (name: string, text: string): ReturnType<typeof readDynamicFiles> => {
  writeFileSync(join(dir, name), text);
  return readDynamicFiles({ filename: join(dir, name) });
};

const same: { name: string; kind: 'static' | 'dynamic'; toml: string; yaml: string }[] = [
  {
    name: 'static: entrypoints, redirection, file provider, log, api (keys in any case, as in YAML)',
    kind: 'static',
    toml: `[entryPoints.web]
address = ":8080"
[entryPoints.web.http.redirections.entryPoint]
to = "websecure"
scheme = "https"
[entryPoints.websecure]
address = ":8443"
[entryPoints.websecure.http.tls]
[providers.File]
directory = "dynamic"
watch = false
[api]
dashboard = true
[log]
Level = "DEBUG"
`,
    yaml: `entryPoints:
  web:
    address: ":8080"
    http:
      redirections:
        entryPoint: { to: websecure, scheme: https }
  websecure:
    address: ":8443"
    http:
      tls: {}
providers:
  file: { directory: dynamic, watch: false }
api: { dashboard: true }
log: { level: DEBUG }
`,
  },
  {
    name: 'dynamic: routers, array-of-tables servers, inline tables, weighted, middlewares, tls',
    kind: 'dynamic',
    toml: `[http.routers.api]
rule = "Host(\`api.localhost\`) && PathPrefix(\`/v1\`)"
entryPoints = ["web"]
middlewares = ["strip"]
service = "app"
priority = 10

[[http.services.app.loadBalancer.servers]]
url = "http://127.0.0.1:9001"
weight = 2
[[http.services.app.loadBalancer.servers]]
url = "http://127.0.0.1:9002"
[http.services.app.loadBalancer.healthCheck]
path = "/health"
interval = "10s"

[http.services.both.weighted]
services = [{ name = "app", weight = 3 }, { name = "app", weight = 1 }]

[http.middlewares.strip.stripPrefix]
prefixes = ["/v1"]
[http.middlewares.hdr.headers.customRequestHeaders]
X-Env = "dev"

[[tls.certificates]]
certFile = "a.pem"
keyFile = "a.key"
[tls.options.default]
minVersion = "VersionTLS12"
`,
    yaml: `http:
  routers:
    api:
      rule: Host(\`api.localhost\`) && PathPrefix(\`/v1\`)
      entryPoints: [web]
      middlewares: [strip]
      service: app
      priority: 10
  services:
    app:
      loadBalancer:
        servers:
          - { url: "http://127.0.0.1:9001", weight: 2 }
          - url: http://127.0.0.1:9002
        healthCheck: { path: /health, interval: 10s }
    both:
      weighted:
        services: [{ name: app, weight: 3 }, { name: app, weight: 1 }]
  middlewares:
    strip:
      stripPrefix: { prefixes: [/v1] }
    hdr:
      headers:
        customRequestHeaders: { X-Env: dev }
tls:
  certificates:
    - { certFile: a.pem, keyFile: a.key }
  options:
    default: { minVersion: VersionTLS12 }
`,
  },
];

t.test('a TOML file decodes to the same configuration as its YAML twin', async (t) => {
  for (const c of same) {
    if (c.kind === 'static') {
      t.same(staticOf('portier.toml', c.toml), staticOf('portier.yaml', c.yaml), c.name);
    } else {
      const toml = dynamicOf('dynamic.toml', c.toml);
      const yaml = dynamicOf('dynamic.yaml', c.yaml);
      t.same(toml.errors.map((e) => e.message), [], `${c.name}: no error`);
      t.same(toml.config, yaml.config, c.name);
    }
  }
});

const errors: { name: string; kind: 'static' | 'dynamic'; toml: string; error: RegExp }[] = [
  { name: 'static syntax error', kind: 'static', toml: '[entryPoints.web]\naddress = ":80\n', error: /portier\.toml:2: invalid TOML: / },
  { name: 'static key redefined', kind: 'static', toml: '[log]\nlevel = "info"\n[log]\nformat = "json"\n', error: /portier\.toml:3: invalid TOML: / },
  { name: 'static unknown key', kind: 'static', toml: '# entrypoints\n[entryPoints.web]\nadress = ":80"\n', error: /portier\.toml:3: entryPoints\.web\.adress: unknown key \(did you mean address\?\)/ },
  { name: 'static key in two spellings', kind: 'static', toml: '[entryPoints.web]\naddress = ":80"\n[entrypoints.web2]\naddress = ":81"\n', error: /portier\.toml:3: entrypoints: given twice/ },
  { name: 'static wrong type', kind: 'static', toml: '[providers.file]\nfilename = "d.toml"\nwatch = "sometimes"\n', error: /portier\.toml:3: providers\.file\.watch: expected true or false/ },
  { name: 'dynamic syntax error', kind: 'dynamic', toml: '[http.routers.a]\nrule = Host(`a`)\n', error: /dynamic\.toml:2: invalid TOML: / },
  {
    name: 'dynamic bad rule',
    kind: 'dynamic',
    toml: '[http.routers.a]\nservice = "s"\nrule = "Host(`a`"\n[[http.services.s.loadBalancer.servers]]\nurl = "http://127.0.0.1:1"\n',
    error: /dynamic\.toml:3: http\.routers\.a\.rule: unexpected end of rule/,
  },
  {
    name: 'dynamic bad URL in the second array-of-tables element',
    kind: 'dynamic',
    toml: '[[http.services.s.loadBalancer.servers]]\nurl = "http://127.0.0.1:1"\n\n[[http.services.s.loadBalancer.servers]]\nurl = "ftp://x"\n',
    error: /dynamic\.toml:5: http\.services\.s\.loadBalancer\.servers\[1\]\.url: unsupported scheme ftp:/,
  },
  {
    name: 'dynamic unknown key in an inline table on a continued line',
    kind: 'dynamic',
    toml: '[http.services.w.weighted]\nservices = [\n  { name = "a" },\n  { name = "b", wieght = 2 },\n]\n',
    error: /dynamic\.toml:4: http\.services\.w\.weighted\.services\[1\]\.wieght: unknown key \(did you mean weight\?\)/,
  },
  {
    name: 'dynamic unknown key after strings holding #, [ and = and a multi-line string',
    kind: 'dynamic',
    toml: `[http.middlewares.h.headers]
contentSecurityPolicy = "default-src 'self'; # not a comment [not.a.table]"
customFrameOptionsValue = '''
multi = "line"
[not.a.table]
'''
[http.middlewares.h.headers.customResponseHeaders]
X-A = "1"
[http.routers.r]
rule = "Host(\`r\`)"
servce = "s"
`,
    error: /dynamic\.toml:11: http\.routers\.r\.servce: unknown key \(did you mean service\?\)/,
  },
  { name: 'dynamic unknown top-level key', kind: 'dynamic', toml: '\n\n[htp.routers.a]\nrule = "Host(`a`)"\n', error: /dynamic\.toml:3: htp: unknown key/ },
];

t.test('every TOML error names file:line, and the field path when it is a field', async (t) => {
  for (const c of errors) {
    let messages: string[];
    if (c.kind === 'static') {
      try {
        staticOf('portier.toml', c.toml);
        messages = [];
      } catch (err) {
        messages = [errorMessage(err)];
      }
    } else {
      messages = dynamicOf('dynamic.toml', c.toml).errors.map((e) => e.message);
    }
    t.equal(messages.length, 1, `${c.name}: one error (${messages.join(' | ')})`);
    t.match(messages[0] ?? '', c.error, c.name);
  }
});

t.test('with no --config, ./portier.toml is read when there is no ./portier.yaml', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'portier-toml-cwd-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  writeFileSync(join(cwd, 'portier.toml'), '[entryPoints.web]\naddress = "127.0.0.1:8088"\n');
  const loaded = loadStaticConfig({ env: {}, flags: [], cwd });
  t.equal(loaded.file, join(cwd, 'portier.toml'));
  t.equal(loaded.config.entryPoints.web.address, '127.0.0.1:8088');
  writeFileSync(join(cwd, 'portier.yaml'), 'entryPoints:\n  web:\n    address: 127.0.0.1:8089\n');
  const both = loadStaticConfig({ env: {}, flags: [], cwd });
  t.equal(both.config.entryPoints.web.address, '127.0.0.1:8089', 'portier.yaml first');
  t.match(both.notices.join('\n'), /portier\.yaml and portier\.toml both found: reading portier\.yaml only/, 'and said');
});
