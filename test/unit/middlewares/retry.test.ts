import t from 'tap';
import retry from '../../../middlewares/retry';
import { silentLogger } from '../../../src/log/logger';
import { Transport, TransportOptions } from '../../../src/proxy/transport';
import { request } from '../../helpers/http';
import { exchangeServer, flakyHandler } from './harness';

const ctx = { service: () => undefined, middleware: () => undefined, log: silentLogger, transport: (o: TransportOptions) => new Transport(o) };

t.test('retry: attempts, backoff, idempotency, retryAttempts', async (t) => {
  const cases = [
    { opts: { attempts: 3, initialInterval: '100ms' }, method: 'GET', body: undefined, failures: 2, status: 200, calls: 3, minMs: 300, retries: 2 },
    { opts: { attempts: 3, initialInterval: '50ms' }, method: 'GET', body: undefined, failures: 5, status: 502, calls: 3, minMs: 150, retries: 2 },
    { opts: { attempts: 2, initialInterval: '0s' }, method: 'DELETE', body: undefined, failures: 1, status: 200, calls: 2, minMs: 0, retries: 1 },
    { opts: { attempts: 2, initialInterval: '0s' }, method: 'POST', body: undefined, failures: 1, status: 502, calls: 1, minMs: 0, retries: 0 },
    { opts: { attempts: 2, initialInterval: '0s', retryNonIdempotent: 'true' }, method: 'POST', body: undefined, failures: 1, status: 200, calls: 2, minMs: 0, retries: 1 },
    { opts: { attempts: 2, initialInterval: '0s', retryNonIdempotent: true }, method: 'PUT', body: 'payload', failures: 1, status: 502, calls: 1, minMs: 0, retries: 0 },
    { opts: { attempts: 1 }, method: 'GET', body: undefined, failures: 1, status: 502, calls: 1, minMs: 0, retries: 0 },
  ];
  for (const c of cases) {
    let retries = -1;
    const upstream = flakyHandler(c.failures, (ex) => {
      retries = ex.retryAttempts;
      ex.res.end('ok');
    });
    const mw = retry.create(retry.options(c.opts, 'retry'), ctx);
    const url = await exchangeServer(t, mw(upstream));
    const started = performance.now();
    const reply = await request(url, { method: c.method, body: c.body });
    const elapsed = performance.now() - started;
    const what = `${c.method} ${JSON.stringify(c.opts)} with ${c.failures} failure(s)`;
    t.equal(reply.status, c.status, `${what}: status`);
    t.equal(upstream.calls, c.calls, `${what}: tries`);
    t.ok(elapsed >= c.minMs, `${what}: waited ${Math.round(elapsed)}ms >= ${c.minMs}ms`);
    if (c.status === 200) t.equal(retries, c.retries, `${what}: retryAttempts`);
  }
});
