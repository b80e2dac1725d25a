import t, { type Test } from 'tap';
import http from 'node:http';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway } from '../../src/server/gateway';
import { FileProvider } from '../../providers/file/index';
import { staticConfigDecoder } from '../../src/config/static';
import { createLogger } from '../../src/log/logger';
import { middlewareTypes } from '../../middlewares/index';
import { startEchoBackend, EchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

/**
 * `curl … > dynamic.yaml` and many editors truncate a file before they
 * write it. A read that lands in between sees an empty file; applying it
 * dropped every route for about a third of a second per rewrite. Measured
 * here under a request loop: not one 404 while the file is rewritten, and
 * a file that stays empty is applied, with a warning.
 */
const REWRITES = 6;
/** Longer than the watcher's 100 ms debounce, so a read does land on the empty file. */
const EMPTY_FOR_MS = 150;

const yamlRoute = (url: string): string => `http:
  routers:
    app:
      rule: Host(\`app.localhost\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${url}
`;
const tomlRoute = (url: string): string => `[http.routers.app]
rule = "Host(\`app.localhost\`)"
service = "app"
[[http.services.app.loadBalancer.servers]]
url = "${url}"
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startOn(t: Test, file: string, content: string): Promise<{ url: string; warnings: () => string[] }> {
  writeFileSync(file, content);
  const lines: string[] = [];
  const log = createLogger({ format: 'json', write: (l) => lines.push(l) });
  const config = staticConfigDecoder({ entryPoints: { web: { address: '127.0.0.1:0' } }, providers: { providersThrottleDuration: '5ms' } }, '');
  const gateway = new Gateway({ config, providers: [new FileProvider({ filename: file, watch: true })], middlewareTypes, log });
  await gateway.start();
  t.teardown(() => gateway.close(100));
  gateway.flush();
  return {
    url: `http://127.0.0.1:${gateway.port('web')}`,
    warnings: () => lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'warn').map((l) => `${l.msg} ${l.file ?? ''}`),
  };
}

/** Requests app.localhost until `done`, at most 20,000 of them or 20 s, four at a time; counts the answers by status. */
async function requestLoop(url: string, done: () => boolean): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const deadline = Date.now() + 20_000;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (!done() && Date.now() < deadline && sent++ < 20_000) {
      const r = await request(url, { host: 'app.localhost', agent });
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  agent.destroy();
  return counts;
}

let echo: EchoBackend;
const dir = mkdtempSync(join(tmpdir(), 'portier-rewrite-'));
t.before(async () => {
  echo = await startEchoBackend('app');
});
t.teardown(async () => {
  await echo.close();
  rmSync(dir, { recursive: true, force: true });
});

const cases = [
  { name: 'YAML truncated to nothing', file: 'dynamic.yaml', route: yamlRoute, blank: '' },
  { name: 'YAML truncated, then only a comment', file: 'comment.yaml', route: yamlRoute, blank: '# being rewritten\n' },
  { name: 'TOML truncated to whitespace', file: 'dynamic.toml', route: tomlRoute, blank: '\n  \n' },
];

t.test('a file rewritten in place never drops its routes', async (t) => {
  for (const c of cases) {
    const file = join(dir, c.file);
    const content = c.route(echo.url);
    const gw = await startOn(t, file, content);
    let rewriting = true;
    const loop = requestLoop(gw.url, () => !rewriting);
    for (let i = 0; i < REWRITES; i++) {
      writeFileSync(file, c.blank);
      await sleep(EMPTY_FOR_MS);
      writeFileSync(file, content);
      await sleep(EMPTY_FOR_MS);
    }
    rewriting = false;
    const counts = await loop;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    t.ok(total > 100, `${c.name}: ${total} requests during ${REWRITES} rewrites`);
    t.equal(counts.get(404) ?? 0, 0, `${c.name}: no 404 (answers: ${JSON.stringify(Object.fromEntries(counts))})`);
    t.same(gw.warnings().filter((w) => w.includes('stayed empty')), [], `${c.name}: no "stayed empty" warning`);
  }
});

t.test('a file that stays empty is applied after the wait, with a warning', async (t) => {
  const file = join(dir, 'stays.yaml');
  const gw = await startOn(t, file, yamlRoute(echo.url));
  t.equal((await request(gw.url, { host: 'app.localhost' })).status, 200, 'served before');
  writeFileSync(file, '');
  const start = Date.now();
  let status = 200;
  while (Date.now() - start < 3000 && (status = (await request(gw.url, { host: 'app.localhost' })).status) === 200) await sleep(20);
  const took = Date.now() - start;
  t.equal(status, 404, `the route is gone after ${took} ms`);
  t.ok(took >= 250, 'not before the file had time to settle (100 ms debounce + 2 × 100 ms)');
  t.match(gw.warnings().join('\n'), new RegExp(`a file stayed empty, so its configuration is removed ${file}`), 'the log says so, naming the file');
});
