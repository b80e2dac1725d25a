import t from 'tap';
import { middlewareBench, waitFor } from './middleware-fixtures';

t.test('circuitBreaker trips on its expression, falls back, recovers', async (t) => {
  let mode: 'ok' | 'fail' | 'slow' = 'ok';
  const bench = await middlewareBench(
    t,
    {
      codes: { circuitBreaker: { expression: 'ResponseCodeRatio(500, 600, 0, 600) > 0.5', checkPeriod: '20ms', fallbackDuration: '400ms', recoveryDuration: '200ms' } },
      latency: { circuitBreaker: { expression: 'LatencyAtQuantileMS(50.0) > 80', checkPeriod: '20ms', fallbackDuration: '10s', responseCode: 429 } },
    },
    { codes: ['codes'], latency: ['latency'] },
    {
      backend: (_req, res) => {
        if (mode === 'ok') return false;
        if (mode === 'fail') {
          res.writeHead(500).end('broken');
          return true;
        }
        setTimeout(() => res.writeHead(200).end('slow'), 150);
        return true;
      },
    },
  );
  const upstreamCount = (): number => bench.echo.requests.length;

  const phases = [
    { name: 'closed: healthy traffic passes', mode: 'ok', router: 'codes', n: 5, expect: [200] },
  ] as const;
  for (const p of phases) {
    mode = p.mode;
    for (let i = 0; i < p.n; i++) t.equal((await bench.send(p.router, '/')).status, 200, `${p.name} #${i}`);
  }

  mode = 'fail';
  // Failures pass through until a check sees the ratio above 0.5, then the breaker answers itself.
  await waitFor('breaker trips', async () => (await bench.send('codes', '/')).status === 503);
  const before = upstreamCount();
  const open = await Promise.all(Array.from({ length: 5 }, () => bench.send('codes', '/')));
  t.same(open.map((r) => r.status), [503, 503, 503, 503, 503], 'open: every request gets the fallback status');
  t.equal(upstreamCount(), before, 'open: nothing reaches the service');

  mode = 'ok';
  const trippedAt = performance.now();
  await waitFor('breaker closes again', async () => (await bench.send('codes', '/')).status === 200, 10_000);
  t.ok(performance.now() - trippedAt >= 350, 'the fallback lasted about fallbackDuration');
  await waitFor('recovery completes', async () => {
    const replies = await Promise.all(Array.from({ length: 5 }, () => bench.send('codes', '/')));
    return replies.every((r) => r.status === 200);
  });
  t.pass('closed again after recovery: all requests pass');

  mode = 'slow';
  await waitFor('latency trips the breaker', async () => (await bench.send('latency', '/')).status === 429);
  mode = 'ok';
  t.equal((await bench.send('latency', '/')).status, 429, 'custom responseCode while open');
});

t.test('invalid circuitBreaker options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      noexpr: { circuitBreaker: {} },
      badexpr: { circuitBreaker: { expression: 'NetworkErrorRatio() >> 0.5' } },
      badcode: { circuitBreaker: { expression: 'NetworkErrorRatio() > 0.5', responseCode: 42 } },
      badperiod: { circuitBreaker: { expression: 'NetworkErrorRatio() > 0.5', checkPeriod: '0s' } },
    },
    { noexpr: ['noexpr'], badexpr: ['badexpr'], badcode: ['badcode'], badperiod: ['badperiod'] },
  );
  const cases = [
    { router: 'noexpr', error: /circuitBreaker\.expression: is required/ },
    { router: 'badexpr', error: /circuitBreaker\.expression: unexpected ">" at 21/ },
    { router: 'badcode', error: /circuitBreaker\.responseCode: must be an HTTP status/ },
    { router: 'badperiod', error: /circuitBreaker\.checkPeriod: must be longer than 0s/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
