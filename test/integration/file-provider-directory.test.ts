import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startPortier } from '../../src/app';
import { loadStaticConfig } from '../../src/config/load';
import { createLogger } from '../../src/log/logger';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

const CLI = join(__dirname, '../../dist/src/cli.js');

/**
 * The file provider's `directory` as Traefik reads it, served by the whole
 * of Portier: YAML, JSON and TOML files in subfolders, the static file
 * sitting among them skipped with a warning, and a router and a middleware
 * defined in two files: the first definition serves, the second is said,
 * by the log, the API and `portier check`.
 */
t.test('a directory tree of YAML, JSON and TOML files', async (t) => {
  const a = await startEchoBackend('a');
  const b = await startEchoBackend('b');
  const dir = mkdtempSync(join(tmpdir(), 'portier-dir-'));
  const write = (name: string, text: string): void => {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  };
  // The static file lives in the folder it points the file provider at, as traefik.toml often does.
  write('portier.toml', `[entryPoints.web]
address = "127.0.0.1:0"
[entryPoints.traefik]
address = "127.0.0.1:0"
[api]
[providers.file]
directory = "."
`);
  write('traefik.yml', 'entryPoints:\n  web:\n    address: ":80"\nproviders:\n  file:\n    directory: /etc/traefik\n');
  write('a-routers.yaml', `http:
  routers:
    one:
      rule: Host(\`one.localhost\`)
      service: a
    dup:
      rule: Host(\`dup.localhost\`)
      middlewares: [tag]
      service: a
  services:
    a:
      loadBalancer:
        servers:
          - url: ${a.url}
  middlewares:
    tag:
      headers:
        customRequestHeaders:
          X-Tag: first
`);
  write('sub/b.toml', `[http.routers.two]
rule = "Host(\`two.localhost\`)"
middlewares = ["tag"]
service = "b"

[http.routers.dup]
rule = "Host(\`dup.localhost\`)"
service = "b"

[[http.services.b.loadBalancer.servers]]
url = "${b.url}"

[http.middlewares.tag.headers.customRequestHeaders]
X-Tag = "second"
`);
  write('sub/deeper/c.json', JSON.stringify({ http: { routers: { three: { rule: 'Host(`three.localhost`)', service: 'b' } } } }));
  write('sub/notes.txt', 'not configuration');

  const lines: string[] = [];
  const log = createLogger({ format: 'json', level: 'debug', write: (l) => lines.push(l) });
  const { config } = loadStaticConfig({ file: join(dir, 'portier.toml'), env: {}, flags: [] });
  const portier = await startPortier(config, log, { baseDir: dir });
  t.teardown(async () => {
    await portier.close(100);
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  portier.gateway.flush();
  const web = `http://127.0.0.1:${portier.gateway.port('web')}`;

  const cases = [
    { host: 'one.localhost', backend: 'a', tag: undefined, why: 'a top-level YAML file' },
    { host: 'two.localhost', backend: 'b', tag: 'first', why: 'a TOML file in a subfolder, using the first definition of a middleware defined twice' },
    { host: 'three.localhost', backend: 'b', tag: undefined, why: 'a JSON file two levels down, using a service of another file' },
    { host: 'dup.localhost', backend: 'a', tag: 'first', why: 'a router defined in two files: the first (a-routers.yaml) serves' },
  ];
  for (const c of cases) {
    const r = await request(web, { host: c.host });
    t.equal(r.status, 200, `${c.host}: ${c.why}`);
    t.equal(r.headers['x-backend'], c.backend, `${c.host}: backend ${c.backend}`);
    t.equal(JSON.parse(r.body).headers['x-tag'], c.tag, `${c.host}: X-Tag ${c.tag}`);
  }

  const api = await request(`http://127.0.0.1:${portier.gateway.port('traefik')}/api/http/routers/dup@file`);
  const dup = JSON.parse(api.body);
  t.equal(dup.status, 'warning', 'the router in use is not disabled by its duplicate');
  t.match(dup.warning?.[0], new RegExp(`defined again at ${dir}/sub/b\\.toml:6: that definition is ignored, this one \\(${dir}/a-routers\\.yaml:6\\) is used`), 'its warning names both files and lines');

  const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn').map((l) => l.msg as string);
  const expected = [
    new RegExp(`${dir}/portier\\.toml:1: skipped: a static configuration \\(entryPoints, api, providers\\), not a dynamic one`),
    new RegExp(`${dir}/traefik\\.yml:1: skipped: a static configuration \\(entryPoints, providers\\), not a dynamic one`),
    new RegExp(`${dir}/sub/b\\.toml:6: http\\.routers\\.dup: already defined at ${dir}/a-routers\\.yaml:6; ignored, the first definition is used`),
    new RegExp(`${dir}/sub/b\\.toml:13: http\\.middlewares\\.tag: already defined at ${dir}/a-routers\\.yaml:16; ignored, the first definition is used`),
  ];
  for (const re of expected) t.ok(warnings.some((w) => re.test(w)), `logged: ${re.source}`);
  const check = spawnSync(process.execPath, [CLI, 'check', '--config', join(dir, 'portier.toml')], { encoding: 'utf8' });
  t.equal(check.status, 0, `portier check passes: ${check.stderr}`);
  for (const re of expected) t.match(check.stderr, new RegExp(`warning: ${re.source}`), `portier check says it too: ${re.source}`);

  // A new subfolder is watched too.
  write('sub/new/d.yaml', `http:\n  routers:\n    four:\n      rule: Host(\`four.localhost\`)\n      service: a\n`);
  const deadline = Date.now() + 3000;
  let status = 0;
  while (Date.now() < deadline && (status = (await request(web, { host: 'four.localhost' })).status) !== 200) await new Promise((r) => setTimeout(r, 50));
  t.equal(status, 200, 'a file added in a new subfolder is served');
});
