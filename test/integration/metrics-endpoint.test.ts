/**
 * Where /metrics is served (its own entrypoint, the API entrypoint, or a
 * user's router with manualRouting), and what one keep-alive connection's
 * requests add to the byte counters.
 */
import t from 'tap';
import http from 'node:http';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';
import { startPortierFromYaml } from './metrics-fixtures';

t.test('the metrics endpoint is where the configuration puts it', async (t) => {
  const echo = await startEchoBackend('shop');
  t.teardown(() => echo.close());
  const routes = (extra = ''): string => `http:
  routers:
    shop: { rule: "Host(\`shop.test\`)", service: shop }
${extra}  services:
    shop: { loadBalancer: { servers: [ { url: "${echo.url}" } ] } }
`;
  const cases: { name: string; static: string; dynamic: string; eps: string[]; serves: [string, string][]; notServes: [string, string][] }[] = [
    { name: 'default: the metrics entrypoint', static: 'api: {}\nmetrics:\n  prometheus: {}\n', dynamic: routes(), eps: ['web', 'traefik', 'metrics'], serves: [['metrics', '']], notServes: [['web', ''], ['traefik', '']] },
    { name: 'on the API entrypoint', static: 'api: {}\nmetrics:\n  prometheus: { entryPoint: traefik }\n', dynamic: routes(), eps: ['web', 'traefik'], serves: [['traefik', '']], notServes: [['web', '']] },
    {
      name: 'manualRouting: only where a router sends it',
      static: 'metrics:\n  prometheus: { manualRouting: true, prefix: traefik }\n',
      dynamic: routes('    metrics: { rule: "Host(`metrics.test`)", service: prometheus@internal }\n'),
      eps: ['web', 'metrics'],
      serves: [['web', 'metrics.test']],
      notServes: [['metrics', ''], ['web', 'shop.test']],
    },
  ];
  for (const c of cases) {
    const p = await startPortierFromYaml(c.static, c.dynamic, c.eps);
    for (const [ep, host] of c.serves) {
      const r = await request(`${p.url(ep)}/metrics`, { host: host || undefined });
      t.equal(r.status, 200, `${c.name}: ${ep} ${host} serves /metrics`);
      t.match(r.body, /_config_reloads_total \d+/, `${c.name}: exposition text`);
      t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    }
    for (const [ep, host] of c.notServes) {
      const r = await request(`${p.url(ep)}/metrics`, { host: host || undefined });
      t.notMatch(r.body, /_config_reloads_total/, `${c.name}: ${ep} ${host} does not serve metrics`);
    }
    await p.close();
  }
});

t.test('byte counters count each response once on a keep-alive connection', async (t) => {
  const payload = 'x'.repeat(1000);
  const echo = await startEchoBackend('bytes', (_req, res) => {
    res.writeHead(200, { 'content-length': payload.length });
    res.end(payload);
    return true;
  });
  t.teardown(() => echo.close());
  const p = await startPortierFromYaml('metrics:\n  prometheus: {}\n', `http:
  routers:
    big: { rule: "Host(\`big.test\`)", service: big }
  services:
    big: { loadBalancer: { servers: [ { url: "${echo.url}" } ] } }
`, ['web', 'metrics']);
  t.teardown(() => p.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<unknown>();
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.request(`${p.url('web')}/`, { method: 'POST', agent, headers: { host: 'big.test', 'content-length': 3 } }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end('abc');
    });
  }
  t.equal(sockets.size, 1, 'all requests on one connection');
  const text = (await request(`${p.url('metrics')}/metrics`)).body;
  const value = (family: string): number => Number(new RegExp(`^portier_${family}\\{code="200",method="POST",protocol="http",service="big@file"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  t.equal(value('service_requests_total'), 5);
  t.equal(value('service_responses_bytes_total'), 5 * payload.length, 'response bodies, not the connection total');
  t.equal(value('service_requests_bytes_total'), 5 * 3, 'request bodies');
});
