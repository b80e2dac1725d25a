import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { spawnPortier } from '../helpers/cli-process';

/**
 * Static keys of Traefik's configuration that Portier accepts without
 * applying (or has nothing behind): the built CLI starts and serves, and says
 * each once at startup, naming the key with its file:line.
 */
const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:0
    http:
      redirections:
        entryPoint:
          to: websecure
          priority: 10
  websecure:
    address: 127.0.0.1:0
    http:
      tls:
        options: modern
  plain:
    address: 127.0.0.1:0
    http:
      tls:
        options: default
  traefik:
    address: 127.0.0.1:0
global:
  checkNewVersion: true
  sendAnonymousUsage: false
api:
  debug: true
  disableDashboardAd: true
pilot:
  token: abc
experimental:
  plugins:
    demo:
      moduleName: github.com/traefik/plugindemo
hub: {}
tracing:
  jaeger: {}
tls:
  certificates:
    - certFile: site.crt
      keyFile: site.key
hostResolver:
  cnameFlattening: true
log:
  level: warn
dataDir: data
providers:
  file:
    filename: dynamic.yaml
    watch: false
`;

const dynamicYaml = `http:
  routers:
    app:
      rule: Host(\`app.localhost\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
`;

const cases: { pattern: RegExp; count: number; why: string }[] = [
  { pattern: /portier\.yaml:8: entryPoints\.web\.http\.redirections\.entryPoint\.priority: not applied/, count: 1, why: 'a redirection priority' },
  { pattern: /portier\.yaml:13: entryPoints\.websecure\.http\.tls\.options: only tls\.options\.default applies; "modern" is not used/, count: 1, why: 'a named TLS options set on an entrypoint' },
  { pattern: /entryPoints\.plain\./, count: 0, why: 'nothing for tls.options "default"' },
  { pattern: /portier\.yaml:22: global\.checkNewVersion: Portier never checks for new versions, ignored/, count: 1, why: 'global.checkNewVersion: true' },
  { pattern: /sendAnonymousUsage/, count: 0, why: 'nothing for a switch that is off' },
  { pattern: /portier\.yaml:25: api\.debug: Portier has no debug endpoints/, count: 1, why: 'api.debug: true' },
  { pattern: /portier\.yaml:26: api\.disableDashboardAd: .*, ignored/, count: 1, why: 'api.disableDashboardAd' },
  { pattern: /portier\.yaml:27: pilot: Traefik Pilot was removed in Traefik v3/, count: 1, why: 'pilot (removed in Traefik v3)' },
  { pattern: /portier\.yaml:29: experimental: .*, ignored/, count: 1, why: 'experimental' },
  { pattern: /portier\.yaml:33: hub: .*, ignored/, count: 1, why: 'hub' },
  { pattern: /portier\.yaml:34: tracing: Portier has no tracing/, count: 1, why: 'tracing' },
  { pattern: /portier\.yaml:36: tls: TLS certificates and options are dynamic configuration/, count: 1, why: 'a root tls section' },
  { pattern: /portier\.yaml:40: hostResolver: .*, ignored/, count: 1, why: 'hostResolver' },
];

t.test('Traefik static keys Portier does not apply: a warning each at startup, never fatal', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-static-warnings-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = spawnPortier(t, dir, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamicYaml });
  if (!p) return;
  t.ok(await p.waitFor(/Portier is serving/, 20_000), `started and serving:\n${p.output()}`);
  const lines = p.output().split('\n');
  for (const c of cases) t.equal(lines.filter((l) => c.pattern.test(l)).length, c.count, c.why);
  p.child.kill('SIGTERM');
  t.equal((await p.exited).code, 0, 'stops cleanly');
});
