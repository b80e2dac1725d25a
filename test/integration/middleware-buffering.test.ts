import t from 'tap';
import { middlewareBench } from './middleware-fixtures';

t.test('buffering holds bodies, limits them, and retries with the held body', async (t) => {
  const failuresLeft = new Map<string, number>();
  const bench = await middlewareBench(
    t,
    {
      limit: { buffering: { maxRequestBodyBytes: 1000 } },
      spill: { buffering: { memRequestBodyBytes: 100, memResponseBodyBytes: 100, maxResponseBodyBytes: 1_000_000 } },
      small: { buffering: { maxResponseBodyBytes: 5000 } },
      retry: { buffering: { retryExpression: 'ResponseCode() == 503 && Attempts() < 3' } },
    },
    { limit: ['limit'], spill: ['spill'], small: ['small'], retry: ['retry'] },
    {
      backend: (req, res) => {
        const m = /^\/flaky\/(\w+)\/(\d+)$/.exec(req.url ?? '');
        if (!m) return false;
        const left = failuresLeft.get(m[1]) ?? Number(m[2]);
        if (left <= 0) return false;
        failuresLeft.set(m[1], left - 1);
        res.writeHead(503).end('not yet');
        return true;
      },
    },
  );
  const big = 'b'.repeat(50_000);
  const cases = [
    { name: 'body under the limit', router: 'limit', path: '/', body: 'x'.repeat(500), headers: {}, status: 200, upstreamBody: 'x'.repeat(500), tries: 1 },
    { name: 'declared body over the limit', router: 'limit', path: '/', body: 'x'.repeat(2000), headers: {}, status: 413, tries: 0 },
    { name: 'chunked body over the limit', router: 'limit', path: '/', body: 'x'.repeat(2000), headers: { 'transfer-encoding': 'chunked' }, status: 413, tries: 0 },
    { name: 'chunked body gets a Content-Length upstream', router: 'limit', path: '/', body: 'y'.repeat(300), headers: { 'transfer-encoding': 'chunked' }, status: 200, upstreamBody: 'y'.repeat(300), length: '300', tries: 1 },
    { name: 'bodies beyond memory spill to disk and replay intact', router: 'spill', path: '/', body: big, headers: {}, status: 200, upstreamBody: big, tries: 1 },
    { name: 'response within maxResponseBodyBytes', router: 'small', path: '/', body: 'z', headers: {}, status: 200, upstreamBody: 'z', tries: 1 },
    { name: 'response over maxResponseBodyBytes', router: 'small', path: '/', body: big, headers: {}, status: 500, tries: 1 },
    { name: 'retried until the expression no longer holds', router: 'retry', path: '/flaky/a/2', body: 'payload', headers: {}, status: 200, upstreamBody: 'payload', tries: 3 },
    { name: 'gives up after Attempts() reaches 3', router: 'retry', path: '/flaky/b/5', body: 'payload', headers: {}, status: 503, tries: 3 },
  ];
  for (const c of cases) {
    const before = bench.echo.requests.length;
    const reply = await bench.send(c.router, c.path, { method: 'POST', body: c.body, headers: c.headers });
    t.equal(reply.status, c.status, `${c.name}: status`);
    const tries = bench.echo.requests.slice(before);
    t.equal(tries.length, c.tries, `${c.name}: upstream requests`);
    t.ok(tries.every((r) => r.body === c.body), `${c.name}: every try carried the whole body`);
    if (c.upstreamBody !== undefined) t.equal(bench.echoed(reply)?.body, c.upstreamBody, `${c.name}: echoed body`);
    if (c.length !== undefined) {
      t.equal(bench.echoed(reply)?.headers['content-length'], c.length, `${c.name}: content-length`);
      t.equal(bench.echoed(reply)?.headers['transfer-encoding'], undefined, `${c.name}: no chunking upstream`);
    }
  }
});

t.test('invalid buffering options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      negative: { buffering: { maxRequestBodyBytes: -5 } },
      badexpr: { buffering: { retryExpression: 'Attempts() < ' } },
      unknownfn: { buffering: { retryExpression: 'NetworkErrorRatio() > 0' } },
    },
    { negative: ['negative'], badexpr: ['badexpr'], unknownfn: ['unknownfn'] },
  );
  const cases = [
    { router: 'negative', error: /buffering\.maxRequestBodyBytes: must not be negative/ },
    { router: 'badexpr', error: /buffering\.retryExpression: unexpected end of expression at 13/ },
    { router: 'unknownfn', error: /buffering\.retryExpression: unknown function NetworkErrorRatio/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
