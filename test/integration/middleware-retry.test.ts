import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { middlewareBench } from './middleware-fixtures';

/**
 * A backend that resets the connection of the next `failures` requests once
 * they arrived (connected, then reset before any response: what a crashing
 * backend does), then answers 200 "ok". It never keeps connections alive, so
 * every try is a fresh connection, as after a real crash.
 */
async function flakyBackend(t: Test): Promise<{ url: string; fail(n: number): void; requests(): number }> {
  let failures = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (failures > 0) {
      failures--;
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { connection: 'close' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fail: (n) => {
      failures = n;
      requests = 0;
    },
    requests: () => requests,
  };
}

t.test('retry tries again on connection failures, with backoff, for idempotent requests only', async (t) => {
  const flaky = await flakyBackend(t);
  const bench = await middlewareBench(
    t,
    {
      three: { retry: { attempts: 3, initialInterval: '100ms' } },
      two: { retry: { attempts: 2, initialInterval: '0s' } },
      post: { retry: { attempts: 3, initialInterval: '0s', retryNonIdempotent: true } },
    },
    {
      three: { middlewares: ['three'], service: 'flaky' },
      two: { middlewares: ['two'], service: 'flaky' },
      post: { middlewares: ['post'], service: 'flaky' },
      none: { middlewares: [], service: 'flaky' },
    },
    { services: { flaky: { loadBalancer: { servers: [{ url: flaky.url }] } } } },
  );
  const cases = [
    { router: 'three', method: 'GET', body: undefined, failures: 2, status: 200, tries: 3, minMs: 300 },
    { router: 'three', method: 'GET', body: undefined, failures: 3, status: 502, tries: 3, minMs: 300 },
    { router: 'two', method: 'GET', body: undefined, failures: 2, status: 502, tries: 2, minMs: 0 },
    { router: 'two', method: 'DELETE', body: undefined, failures: 1, status: 200, tries: 2, minMs: 0 },
    { router: 'two', method: 'POST', body: undefined, failures: 1, status: 502, tries: 1, minMs: 0 },
    { router: 'post', method: 'POST', body: undefined, failures: 1, status: 200, tries: 2, minMs: 0 },
    { router: 'post', method: 'PUT', body: 'payload', failures: 1, status: 502, tries: 1, minMs: 0 },
    { router: 'none', method: 'GET', body: undefined, failures: 1, status: 502, tries: 1, minMs: 0 },
  ];
  for (const c of cases) {
    flaky.fail(c.failures);
    const started = performance.now();
    const reply = await bench.send(c.router, '/', { method: c.method, body: c.body });
    const elapsed = performance.now() - started;
    const what = `${c.method} ${c.router} with ${c.failures} failure(s)`;
    t.equal(reply.status, c.status, `${what}: status`);
    t.equal(flaky.requests(), c.tries, `${what}: tries`);
    t.ok(elapsed >= c.minMs, `${what}: backoff waited ${Math.round(elapsed)}ms >= ${c.minMs}ms`);
  }
});

t.test('invalid retry options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    { noattempts: { retry: {} }, zero: { retry: { attempts: 0 } }, badinterval: { retry: { attempts: 2, initialInterval: 'later' } } },
    { noattempts: ['noattempts'], zero: ['zero'], badinterval: ['badinterval'] },
  );
  const cases = [
    { router: 'noattempts', error: /retry\.attempts: is required/ },
    { router: 'zero', error: /retry\.attempts: must be at least 1/ },
    { router: 'badinterval', error: /retry\.initialInterval: expected a duration/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
