import t from 'tap';
import { mkdtempSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Gateway } from '../../src/server/gateway';
import { FileProvider } from '../../providers/file/index';
import { staticConfigDecoder } from '../../src/config/static';
import { silentLogger } from '../../src/log/logger';
import { middlewareTypes } from '../../middlewares/index';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

const CLI = join(__dirname, '../../dist/src/cli.js');

const routeFile = (host: string, url: string): string => `http:
  routers:
    app:
      rule: Host(\`${host}\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${url}
`;

async function until(cond: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await cond()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

t.test('a watched file reloads within a second and a broken edit keeps the last good config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portier-file-'));
  const file = join(dir, 'dynamic.yaml');
  const echo = await startEchoBackend('file');
  writeFileSync(file, routeFile('one.localhost', echo.url));
  const provider = new FileProvider({ filename: file, watch: true });
  const config = staticConfigDecoder({ entryPoints: { web: { address: '127.0.0.1:0' } }, providers: { providersThrottleDuration: '5ms' } }, '');
  const gateway = new Gateway({ config, providers: [provider], middlewareTypes, log: silentLogger });
  await gateway.start();
  t.teardown(async () => {
    await gateway.close(100);
    await echo.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${gateway.port('web')}`;
  const status = async (host: string) => (await request(url, { host })).status;
  await until(async () => (await status('one.localhost')) === 200, 2000);

  // Editors replace files by rename: the watcher follows the folder, not the inode.
  writeFileSync(join(dir, '.tmp'), routeFile('two.localhost', echo.url));
  renameSync(join(dir, '.tmp'), file);
  const took = await until(async () => (await status('two.localhost')) === 200, 3000);
  t.ok(took < 1000, `new route live after ${took} ms`);
  t.equal(await status('one.localhost'), 404, 'old route gone');

  writeFileSync(file, 'http:\n  routers:\n    app: [\n');
  await new Promise((r) => setTimeout(r, 600));
  t.equal(await status('two.localhost'), 200, 'a syntax error keeps the last good configuration');
  t.match(provider.lastErrors.join('\n'), /dynamic\.yaml:\d+: /, 'the error names file and line');

  writeFileSync(file, routeFile('three.localhost', echo.url).replace('rule: Host(`three.localhost`)', 'rule: Host(`three.localhost`'));
  await new Promise((r) => setTimeout(r, 600));
  t.equal(await status('two.localhost'), 200, 'an invalid rule keeps the last good configuration too');
  t.match(provider.lastErrors.join('\n'), /dynamic\.yaml:4: http\.routers\.app\.rule: unexpected end of rule at 22/);
});

t.test('portier check prints every error with file:line and exits non-zero', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portier-check-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'portier.yaml'), 'providers:\n  file:\n    filename: dyn.yaml\n');
  const cases: { name: string; dynamic: string; code: number; out: RegExp[] }[] = [
    { name: 'valid', dynamic: routeFile('ok.localhost', 'http://127.0.0.1:9'), code: 0, out: [/configuration OK/] },
    {
      name: 'bad rule and unknown key',
      dynamic: routeFile('ok.localhost', 'http://127.0.0.1:9').replace('Host(`ok.localhost`)', 'Host(`ok.localhost`))').replace('      loadBalancer:\n', '      loadBalancer:\n        passHostHeder: true\n'),
      code: 1,
      out: [/dyn\.yaml:4: http\.routers\.app\.rule: unexpected "\)" at 20/, /dyn\.yaml:9: http\.services\.app\.loadBalancer\.passHostHeder: unknown key \(did you mean passHostHeader\?\)/, /2 errors/],
    },
    { name: 'yaml syntax', dynamic: 'http:\n  routers:\n    x: [\n', code: 1, out: [/dyn\.yaml:\d+: /, /1 error/] },
    { name: 'bad server url', dynamic: routeFile('ok.localhost', 'ftp://x'), code: 1, out: [/dyn\.yaml:10: http\.services\.app\.loadBalancer\.servers\[0\]\.url: unsupported scheme ftp:/] },
  ];
  for (const c of cases) {
    writeFileSync(join(dir, 'dyn.yaml'), c.dynamic);
    const r = spawnSync(process.execPath, [CLI, 'check', '--config', join(dir, 'portier.yaml')], { encoding: 'utf8' });
    t.equal(r.status, c.code, `${c.name}: exit code`);
    for (const re of c.out) t.match(r.stdout + r.stderr, re, `${c.name}: ${re}`);
  }
  writeFileSync(join(dir, 'portier.yaml'), 'entryPoints:\n  web:\n    adress: ":80"\n');
  const r = spawnSync(process.execPath, [CLI, 'check', '--config', join(dir, 'portier.yaml')], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /portier\.yaml:3: entryPoints\.web\.adress: unknown key \(did you mean address\?\)/, 'static config errors too');
});
