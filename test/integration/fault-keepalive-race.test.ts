import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway';
import { request } from '../helpers/http';

/**
 * The keep-alive race (node #47130, #52649): a backend closes an idle
 * socket after its keepAliveTimeout (1 s here) just as the gateway reuses
 * it. POSTs are never resent, so the only way to avoid a 502 is never to
 * reuse a socket the backend is about to close. Bounded: 8 requests.
 */
t.test('backend keepAliveTimeout 1 s, POSTs spaced at the edges of its idle close: zero 502', async (t) => {
  const backend = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  backend.keepAliveTimeout = 1000;
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const gw = await startTestGateway({
    http: {
      routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      services: { s: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` }] } } },
    },
  });
  t.teardown(async () => {
    await gw.close();
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
  });
  // Node closes an idle server socket about 1 s after keepAliveTimeout: probe both edges.
  const gaps = [950, 980, 1000, 1960, 1990, 2000, 2010, 2040];
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, gaps[i % gaps.length]));
    const r = await request(gw.url, { method: 'POST', body: `order ${i}`, headers: { 'content-type': 'text/plain' } }).then(
      (x) => x.status,
      () => -1,
    );
    statuses.push(r);
  }
  t.same(statuses.filter((s) => s !== 200), [], `all ${statuses.length} POSTs answered 200`);
});
