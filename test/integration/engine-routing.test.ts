import t from 'tap';
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { RuntimeProvider } from '../../providers/runtime/index';
import { Engine } from '../../src/engine/engine';
import type { DockerEvent } from '../../src/engine/events';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { helloApp, node, stackFile, waitFor } from './engine-fixtures';

const engine = new Engine({ drainDelayMs: 300 });
let gw: TestGateway;
t.before(async () => {
  gw = await startTestGateway({}, { providers: [new RuntimeProvider(engine)] });
});
t.teardown(async () => {
  await engine.close();
  await gw.close();
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
t.teardown(() => agent.destroy());

/** A GET, or a POST with a body when `body` is given (the gateway never replays those on another server). */
function request(host: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const method = body === undefined ? 'GET' : 'POST';
    const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/', method, headers: { host }, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ status: -1, body: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: -1, body: err.message }));
    req.end(body);
  });
}

t.test('a replica is routed by its default name only once healthy, within 300 ms', async (t) => {
  let healthyAt = 0;
  engine.on('event', (e: DockerEvent) => e.Action === 'health_status: healthy' && e.Actor.Attributes.name === 'gated-web-1' && (healthyAt = Date.now()));
  const file = stackFile(t, `
name: gated
services:
  web:
    command: ["${node}", "-e", "setTimeout(() => require('${helloApp}'), 600)"]
    healthcheck: {test: ["HTTP", "/health"], interval: 50ms, timeout: 500ms}
`);
  await engine.up(file);
  await waitFor('the route exists without a server while starting', async () => (await request('web.gated.localhost')).status === 503);
  t.equal(engine.find('gated-web-1')?.health?.status, 'starting');
  let liveAt = 0;
  await waitFor('route live', async () => {
    const r = await request('web.gated.localhost');
    if (r.status === 200 && !liveAt) liveAt = Date.now();
    return r.status === 200;
  });
  t.ok(healthyAt > 0, 'healthy event seen');
  t.ok(liveAt - healthyAt < 300, `route live ${liveAt - healthyAt} ms after the healthy event`);
  t.equal((await request('web.gated.localhost')).body, 'hello from gated-web-1\n');
});

t.test('replicas are balanced and labels add routers', async (t) => {
  const file = stackFile(t, `
name: shop
services:
  web:
    command: ["${node}", "${helloApp}"]
    deploy: {replicas: 3}
    healthcheck: {test: ["HTTP", "/health"], interval: 100ms}
  api:
    command: ["${node}", "${helloApp}"]
    labels:
      portier.http.routers.front.rule: Host(\`front.localhost\`)
`);
  await engine.up(file);
  await waitFor('3 ready', () => engine.list().filter((r) => r.project === 'shop' && r.service === 'web' && r.ready).length === 3);
  await waitFor('routed to all', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await request('web.shop.localhost')).body);
    return seen.size === 3;
  });
  const counts: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const r = await request('web.shop.localhost');
    counts[r.body] = (counts[r.body] ?? 0) + 1;
  }
  t.same(counts, { 'hello from shop-web-1\n': 10, 'hello from shop-web-2\n': 10, 'hello from shop-web-3\n': 10 });
  await waitFor('label router', async () => (await request('front.localhost')).body === 'hello from shop-api-1\n');
  t.equal((await request('api.shop.localhost')).status, 404, 'a router label replaces the default rule, as in Traefik');
});

// Answers after 40 ms and dies at once on SIGTERM: only the drain keeps requests off a stopping replica.
const SLOW_APP = `
const http = require('node:http');
http.createServer((req, res) => setTimeout(() => res.end('slow ' + process.env.PORTIER_REPLICA + '\\n'), req.url === '/health' ? 0 : 40))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

t.test('scale 3 → 1 under bounded load: zero failed requests', async (t) => {
  const file = stackFile(t, `
name: load
services:
  web:
    command: ["${node}", "slow.js"]
    deploy: {replicas: 3}
    healthcheck: {test: ["HTTP", "/health"], interval: 100ms}
`);
  writeFileSync(path.join(path.dirname(file), 'slow.js'), SLOW_APP);
  await engine.up(file);
  await waitFor('routed to all 3', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await request('web.load.localhost')).body);
    return seen.size === 3;
  });
  const stop = Date.now() + 8000;
  const maxRequests = 400;
  let sent = 0;
  const failures: string[] = [];
  const bodies = new Set<string>();
  const worker = async (): Promise<void> => {
    while (Date.now() < stop && sent < maxRequests) {
      sent++;
      const r = await request('web.load.localhost', 'order');
      if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
      else bodies.add(r.body);
    }
  };
  const load = Promise.all([worker(), worker(), worker(), worker()]);
  await new Promise((r) => setTimeout(r, 300));
  await engine.scale('load', 'web', 1);
  const afterScale = sent;
  await load;
  t.ok(sent > afterScale, `load kept running after the scale (${sent} requests)`);
  t.same(failures, [], `no failed request out of ${sent}`);
  t.same(engine.list().filter((r) => r.project === 'load').map((r) => r.name), ['load-web-1']);
  t.same(bodies, new Set(['slow load-web-1\n', 'slow load-web-2\n', 'slow load-web-3\n']), 'all three served during the load');
  t.equal((await request('web.load.localhost')).body, 'slow load-web-1\n');
});

t.test('a project going down leaves the table', async (t) => {
  await engine.down('gated');
  await waitFor('route gone', async () => (await request('web.gated.localhost')).status === 404);
  t.pass('404 once the project is down');
});
