import t from 'tap';
import type http from 'node:http';
import { middlewareBench, waitFor } from './middleware-fixtures';

t.test('ipAllowList checks the client address chosen by ipStrategy', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      loopback: { ipAllowList: { sourceRange: ['127.0.0.0/8'] } },
      private10: { ipAllowList: { sourceRange: '10.0.0.0/8' } },
      depth1: { ipAllowList: { sourceRange: ['192.168.0.0/16'], ipStrategy: { depth: 1 } } },
      depth2: { ipAllowList: { sourceRange: ['10.1.0.0/16'], ipStrategy: { depth: 2 } } },
      excluded: { ipAllowList: { sourceRange: ['10.1.0.0/16'], ipStrategy: { excludedIPs: ['192.168.0.0/16'] } } },
      v6: { ipAllowList: { sourceRange: ['2001:db8::/32'], ipStrategy: { depth: 1 } } },
      teapot: { ipAllowList: { sourceRange: ['10.0.0.0/8'], rejectStatusCode: 418 } },
    },
    { loopback: ['loopback'], private10: ['private10'], depth1: ['depth1'], depth2: ['depth2'], excluded: ['excluded'], v6: ['v6'], teapot: ['teapot'] },
    { trustForwarded: true },
  );
  const xff = { 'x-forwarded-for': '10.1.2.3, 192.168.0.9' };
  const cases = [
    { router: 'loopback', headers: {}, status: 200 },
    { router: 'private10', headers: {}, status: 403 },
    { router: 'private10', headers: xff, status: 200 },
    { router: 'depth1', headers: xff, status: 200 },
    { router: 'depth1', headers: {}, status: 403 },
    { router: 'depth2', headers: xff, status: 200 },
    { router: 'depth2', headers: { 'x-forwarded-for': '10.9.9.9, 192.168.0.9' }, status: 403 },
    { router: 'excluded', headers: xff, status: 200 },
    { router: 'excluded', headers: { 'x-forwarded-for': '192.168.0.1, 192.168.0.9' }, status: 403 },
    { router: 'v6', headers: { 'x-forwarded-for': '2001:db8::5' }, status: 200 },
    { router: 'v6', headers: { 'x-forwarded-for': '2001:db9::5' }, status: 403 },
    { router: 'teapot', headers: { 'x-forwarded-for': '172.16.0.1' }, status: 418 },
  ];
  for (const c of cases) {
    const reply = await bench.send(c.router, '/', { headers: c.headers });
    t.equal(reply.status, c.status, `${c.router} ${JSON.stringify(c.headers)}`);
    t.equal(bench.echoed(reply) !== undefined, c.status === 200, `${c.router}: forwarded only when allowed`);
  }
});

/** Sends `n` requests at once; returns the statuses and the Retry-After values seen. */
async function burst(send: () => Promise<{ status: number; headers: http.IncomingHttpHeaders }>, n: number): Promise<{ ok: number; limited: number; retryAfter: Set<string> }> {
  const replies = await Promise.all(Array.from({ length: n }, send));
  const retryAfter = new Set(replies.filter((r) => r.status === 429).map((r) => String(r.headers['retry-after'])));
  return { ok: replies.filter((r) => r.status === 200).length, limited: replies.filter((r) => r.status === 429).length, retryAfter };
}

t.test('rateLimit is a token bucket: burst at once, then average per period', async (t) => {
  const average = 5;
  const burstSize = 10;
  const bench = await middlewareBench(t, { rl: { rateLimit: { average, period: '1s', burst: burstSize } } }, { rl: ['rl'] });
  const rate = average / 1000;
  const n = 30;

  const start = performance.now();
  const first = await burst(() => bench.send('rl', '/'), n);
  const firstDone = performance.now();
  t.equal(first.ok + first.limited, n, 'every request got 200 or 429');
  t.ok(first.ok >= burstSize, `at least the burst passes (${first.ok})`);
  t.ok(first.ok <= burstSize + Math.floor((firstDone - start) * rate), `no more than burst + refill during the burst (${first.ok})`);
  t.same([...first.retryAfter], ['1'], 'Retry-After says when the next token is due');

  // Wait for k periods: exactly k*average tokens come back (bucket not full, so no cap).
  const k = 1;
  await new Promise((r) => setTimeout(r, k * 1000));
  const before = performance.now();
  const second = await burst(() => bench.send('rl', '/'), n);
  const secondDone = performance.now();
  t.ok(second.ok >= k * average, `after ${k} period(s) at least ${k * average} pass (${second.ok})`);
  // Fractional token left from the first burst (< 1) plus refill over the whole gap.
  t.ok(second.ok <= Math.floor(1 + (secondDone - firstDone) * rate), `and no more than the refill allows (${second.ok}, gap ${Math.round(secondDone - before)}ms)`);
});

t.test('rateLimit sourceCriterion keeps separate buckets', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      byheader: { rateLimit: { average: 1, period: '1m', burst: 1, sourceCriterion: { requestHeaderName: 'X-Api-Key' } } },
      byip: { rateLimit: { average: 1, period: '1m', burst: 1, sourceCriterion: { ipStrategy: { depth: 1 } } } },
      byhost: { rateLimit: { average: 1, period: '1m', burst: 1, sourceCriterion: { requestHost: true } } },
      off: { rateLimit: { average: 0 } },
    },
    { byheader: ['byheader'], byip: ['byip'], byhost: ['byhost'], off: ['off'] },
    { trustForwarded: true },
  );
  const cases = [
    { router: 'byheader', headers: { 'x-api-key': 'a' }, status: 200 },
    { router: 'byheader', headers: { 'x-api-key': 'b' }, status: 200 },
    { router: 'byheader', headers: { 'x-api-key': 'a' }, status: 429 },
    { router: 'byip', headers: { 'x-forwarded-for': '10.0.0.1' }, status: 200 },
    { router: 'byip', headers: { 'x-forwarded-for': '10.0.0.2' }, status: 200 },
    { router: 'byip', headers: { 'x-forwarded-for': '10.0.0.1' }, status: 429 },
    { router: 'byhost', headers: {}, status: 200 },
    { router: 'byhost', headers: {}, status: 429 },
    { router: 'off', headers: {}, status: 200 },
    { router: 'off', headers: {}, status: 200 },
  ];
  for (const c of cases) t.equal((await bench.send(c.router, '/', { headers: c.headers })).status, c.status, `${c.router} ${JSON.stringify(c.headers)}`);
});

t.test('inFlightReq caps simultaneous requests per source', async (t) => {
  const held: http.ServerResponse[] = [];
  const bench = await middlewareBench(t, { cap: { inFlightReq: { amount: 2 } } }, { cap: ['cap'], other: ['cap'] }, {
    backend: (req, res) => {
      if (!req.url?.startsWith('/slow')) return false;
      held.push(res);
      return true;
    },
  });
  const slow = [bench.send('cap', '/slow'), bench.send('cap', '/slow')];
  await waitFor('two requests held by the backend', () => held.length === 2);
  const cases = [
    { router: 'cap', status: 429, why: 'third request from the same host is refused' },
    { router: 'other', status: 200, why: 'another host is another source' },
  ];
  for (const c of cases) t.equal((await bench.send(c.router, '/fast')).status, c.status, c.why);
  for (const res of held) res.end('done');
  t.same((await Promise.all(slow)).map((r) => r.status), [200, 200], 'held requests complete');
  t.equal((await bench.send('cap', '/fast')).status, 200, 'finished requests free their slots');
});

t.test('invalid access options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      badcidr: { ipAllowList: { sourceRange: ['10.0.0.0/33'] } },
      norange: { ipAllowList: {} },
      baddepth: { ipAllowList: { sourceRange: ['::1'], ipStrategy: { depth: -1 } } },
      badburst: { rateLimit: { average: 1, burst: 0 } },
      badperiod: { rateLimit: { average: 1, period: 'soon' } },
      badsource: { rateLimit: { average: 1, sourceCriterion: { requestHeader: 'x' } } },
      noamount: { inFlightReq: {} },
    },
    { badcidr: ['badcidr'], norange: ['norange'], baddepth: ['baddepth'], badburst: ['badburst'], badperiod: ['badperiod'], badsource: ['badsource'], noamount: ['noamount'] },
  );
  const cases = [
    { router: 'badcidr', error: /ipAllowList\.sourceRange\[0\]: bad prefix length/ },
    { router: 'norange', error: /ipAllowList\.sourceRange: is required/ },
    { router: 'baddepth', error: /ipAllowList\.ipStrategy\.depth: must not be negative/ },
    { router: 'badburst', error: /rateLimit\.burst: must be at least 1/ },
    { router: 'badperiod', error: /rateLimit\.period: expected a duration/ },
    { router: 'badsource', error: /rateLimit\.sourceCriterion\.requestHeader: unknown key/ },
    { router: 'noamount', error: /inFlightReq\.amount: is required/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
