import t from 'tap';
import http from 'node:http';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend, EchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
t.teardown(() => agent.destroy());

async function names(url: string, host: string, n: number, headers: http.OutgoingHttpHeaders = {}): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await request(url, { host, agent, headers });
    const name = r.status === 200 ? (JSON.parse(r.body) as { name: string }).name : `status-${r.status}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

t.test('smooth weighted round robin splits 1:2:3 over 600 requests within 5%', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => startEchoBackend(n)));
  const gw = await startTestGateway({
    http: {
      routers: { wrr: { rule: 'Host(`wrr.localhost`)', service: 'wrr' } },
      services: { wrr: { loadBalancer: { servers: backends.map((b, i) => ({ url: b.url, weight: i + 1 })) } } },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });
  const counts = await names(gw.url, 'wrr.localhost', 600);
  for (const [name, weight] of [['a', 1], ['b', 2], ['c', 3]] as const) {
    const expected = (600 * weight) / 6;
    t.ok(Math.abs((counts[name] ?? 0) - expected) <= expected * 0.05, `${name}: ${counts[name]} ≈ ${expected}`);
  }
});

t.test('routers are tried by priority: explicit, then rule length', async (t) => {
  const [long, short, prio] = await Promise.all(['long', 'short', 'prio'].map((n) => startEchoBackend(n)));
  const lb = (b: EchoBackend) => ({ loadBalancer: { servers: [{ url: b.url }] } });
  const gw = await startTestGateway({
    http: {
      routers: {
        short: { rule: 'PathPrefix(`/my`)', service: 'short' },
        long: { rule: 'PathPrefix(`/mypath`)', service: 'long' },
        prio: { rule: 'PathPrefix(`/x`) || PathPrefix(`/forced`)', service: 'prio', priority: 1000 },
        lowprio: { rule: 'PathPrefix(`/forced/deeper/and/longer`)', service: 'long', priority: 1 },
      },
      services: { long: lb(long), short: lb(short), prio: lb(prio) },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await Promise.all([long, short, prio].map((b) => b.close()));
  });
  const cases: [string, string][] = [
    ['/mypath/a', 'long'],
    ['/myother', 'short'],
    ['/forced/deeper/and/longer', 'prio'],
  ];
  for (const [path, want] of cases) {
    const r = await request(gw.url + path, { host: 'any.localhost' });
    t.equal(JSON.parse(r.body).name, want, `${path} → ${want}`);
  }
});

t.test('active health check takes a failing server out within two intervals and brings it back', async (t) => {
  let healthy = true;
  const flaky = await startEchoBackend('flaky', (req, res) => {
    if (req.url !== '/health') return false;
    res.writeHead(healthy ? 200 : 500).end();
    return true;
  });
  const steady = await startEchoBackend('steady');
  const gw = await startTestGateway({
    http: {
      routers: { hc: { rule: 'Host(`hc.localhost`)', service: 'hc' } },
      services: {
        hc: { loadBalancer: { servers: [{ url: flaky.url }, { url: steady.url }], healthCheck: { path: '/health', interval: '200ms', timeout: '100ms' } } },
      },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await flaky.close();
    await steady.close();
  });
  const status = () => gw.gateway.table.services.get('hc@file')!.serverStatus()[flaky.url];
  t.equal(status(), 'UP');
  healthy = false;
  const failedAt = Date.now();
  while (status() === 'UP' && Date.now() - failedAt < 5000) await new Promise((r) => setTimeout(r, 20));
  t.equal(status(), 'DOWN', 'marked down');
  t.ok(Date.now() - failedAt <= 2 * 200 + 300, `down after ${Date.now() - failedAt} ms (2 intervals + slack)`);
  t.same(await names(gw.url, 'hc.localhost', 10), { steady: 10 }, 'no traffic to the down server');
  healthy = true;
  const backAt = Date.now();
  while (status() === 'DOWN' && Date.now() - backAt < 5000) await new Promise((r) => setTimeout(r, 20));
  t.equal(status(), 'UP', 'back up');
  const counts = await names(gw.url, 'hc.localhost', 10);
  t.equal(counts.flaky, 5, 'gets its share again');
});

t.test('sticky cookie pins a client to one server', async (t) => {
  const backends = await Promise.all(['s1', 's2', 's3'].map((n) => startEchoBackend(n)));
  const gw = await startTestGateway({
    http: {
      routers: { st: { rule: 'Host(`sticky.localhost`)', service: 'st' } },
      services: { st: { loadBalancer: { servers: backends.map((b) => ({ url: b.url })), sticky: { cookie: { name: 'lb', httpOnly: true, sameSite: 'lax' } } } } },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
  });
  const first = await request(gw.url, { host: 'sticky.localhost' });
  const setCookie = String(first.headers['set-cookie']);
  t.match(setCookie, /^lb=[0-9a-f]+; Path=\/; HttpOnly; SameSite=Lax$/, 'cookie attributes');
  const cookie = setCookie.split(';')[0];
  const pinned = JSON.parse(first.body).name;
  t.same(await names(gw.url, 'sticky.localhost', 12, { cookie }), { [pinned]: 12 }, 'every request with the cookie hits the same server');
  t.same(Object.keys(await names(gw.url, 'sticky.localhost', 6)).sort(), ['s1', 's2', 's3'], 'without it, requests are balanced');
});
