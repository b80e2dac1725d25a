import t from 'tap';
import * as http from 'node:http';
import { RuntimeProvider } from '../../providers/runtime/index';
import { Engine } from '../../src/engine/engine';
import { createLogger } from '../../src/log/logger';
import type { Provider } from '../../src/provider';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { helloApp, node, stackFile, waitFor } from './engine-fixtures';

/**
 * Two runtime projects with the same copy-pasted service labels (`web`):
 * each host is answered only by its own project's replicas, the objects are
 * named per project in the table the API lists, and the log says so.
 */
const engine = new Engine({ drainDelayMs: 100 });
const logLines: string[] = [];
const inner = new RuntimeProvider(engine);
// The test gateway logs nothing; the provider gets a logger whose lines the test reads.
const provider: Provider = {
  name: inner.name,
  start: (push) => inner.start(push, createLogger({ level: 'info', write: (line) => logLines.push(line) })),
  close: () => inner.close(),
};
let gw: TestGateway;
t.before(async () => {
  gw = await startTestGateway({}, { providers: [provider] });
});
t.teardown(async () => {
  await engine.close();
  await gw.close();
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
t.teardown(() => agent.destroy());

function request(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: gw.port, path: '/', headers: { host }, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: -1, body: err.message }));
  });
}

/** One stack text in two directories, `shop/` and `blog/`: the project is the directory's name, as with a copied compose file. */
const STACK = `
services:
  web:
    command: ["${node}", "${helloApp}"]
    environment: {GREETING: "answered by"}
    deploy: {replicas: 3}
    healthcheck: {test: ["HTTP", "/health"], interval: 100ms}
    labels:
      traefik.enable: "true"
      traefik.http.services.web.loadbalancer.healthcheck.path: /health
      traefik.http.services.web.loadbalancer.healthcheck.interval: 1s
`;

const projects = ['shop', 'blog'];
const REQUESTS = 60;

t.test('two projects both label service web: each host only reaches its own replicas', async (t) => {
  for (const p of projects) await engine.up(stackFile(t, STACK, p));
  await waitFor('6 replicas ready', () => engine.list().filter((r) => r.ready).length === 6, 20_000);
  for (const p of projects) {
    await waitFor(`web.${p}.localhost served by its 3 replicas`, async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 9; i++) seen.add((await request(`web.${p}.localhost`)).body);
      return seen.size === 3;
    });
  }

  const cases = projects.map((p) => ({ host: `web.${p}.localhost`, own: new Set([1, 2, 3].map((n) => `answered by ${p}-web-${n}\n`)) }));
  for (const c of cases) {
    const counts = new Map<string, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const r = await request(c.host);
      const key = r.status === 200 ? r.body : `${r.status} ${r.body}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    t.same([...counts.keys()].filter((body) => !c.own.has(body)), [], `${c.host}: no answer from another project in ${REQUESTS} requests`);
    t.equal(counts.size, 3, `${c.host}: all 3 own replicas answered`);
  }

  const names = (m: ReadonlyMap<string, unknown>): string[] => [...m.keys()].filter((n) => n.endsWith('@runtime')).sort();
  t.same(names(gw.gateway.table.services), ['web-blog@runtime', 'web-shop@runtime'], 'services are named per project');
  t.same(names(gw.gateway.table.routers), ['web-blog@runtime', 'web-shop@runtime'], 'routers are named per project');
  t.same(gw.gateway.table.routers.get('web-shop@runtime')?.errors, [], 'the shop router is enabled');
  const said = (text: string): number => logLines.filter((l) => l.includes(` INFO  ${text}`)).length;
  t.equal(said('service web: defined by projects blog and shop; scoped as web-blog, web-shop'), 1, 'the service scoping is said once in the log');
  t.equal(said('router web: defined by projects blog and shop; scoped as web-blog, web-shop'), 1, 'the router scoping is said once in the log');

  await engine.down('blog');
  await waitFor('the shop alone keeps the names as written', () => gw.gateway.table.services.has('web@runtime') && !gw.gateway.table.services.has('web-shop@runtime'));
  t.match((await request('web.shop.localhost')).body, /^answered by shop-web-\d\n$/, 'the shop is still served');
  t.equal((await request('web.blog.localhost')).status, 404, 'the blog is gone');
});
