import t from 'tap';
import type { RawResponse } from '../helpers/raw-conn';
import { BIG, IDLE_MS, plain, startDirectGateway, type Seen } from '../helpers/direct-fixtures';

/**
 * The direct path (server/direct-connection.ts) on real sockets: plain
 * requests to a bare load-balancer router are read and answered by Portier
 * itself, everything else is handed to Node's HTTP server with its bytes.
 * This file covers what is served directly: the fields forwarded to the
 * backend and returned to the client, response parity with Node's server,
 * response framing, and upstream failures (502, 504). Hand-offs are in
 * direct-path-handoff.test.ts; keep-alive, timeouts, clients leaving,
 * entrypoint settings and shutdown in direct-path-lifecycle.test.ts.
 * Each check asserts what a client sees plus the `web` entrypoint's
 * directStats delta (requests served directly, hand-offs to Node).
 */

t.test('direct path: served directly', async (t) => {
  const { gw, counted, open } = await startDirectGateway(t);
  for (const name of ['direct', 'plainMw', 'raw', 'dead', 'timeout']) t.equal(gw.router(name)?.plain, true, `router ${name} is plain`);

  t.test('a plain GET is served directly, with forwarded fields set and hop-by-hop ones dropped', async (t) => {
    const conn = await open(t);
    const res = await counted(t, { requests: 1, handOffs: 0 }, async () => {
      conn.write(plain('/echo/a?x=1', 'direct.test', [
        'User-Agent: raw/1', 'X-Forwarded-For: 6.6.6.6', 'X-Real-Ip: 6.6.6.6', 'Connection: keep-alive', 'Keep-Alive: timeout=30',
        'TE: trailers', 'Proxy-Authorization: Basic Zm9vOmJhcg==', 'Trailer: X-Sum',
      ]));
      return conn.response();
    });
    t.equal(res.status, 200);
    t.equal(res.headers['x-backend'], 'main', 'the backend answered');
    const seen = JSON.parse(res.body.toString()) as Seen;
    t.equal(seen.url, '/echo/a?x=1');
    const expected: Record<string, string> = {
      host: 'direct.test', 'user-agent': 'raw/1', 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1',
      'x-forwarded-proto': 'http', 'x-forwarded-host': 'direct.test', 'x-forwarded-port': String(gw.port),
    };
    // Exact values: the client-sent X-Forwarded-For and X-Real-Ip are discarded, not extended.
    for (const [name, value] of Object.entries(expected)) t.equal(seen.headers[name], value, `backend got ${name}: ${value}`);
    for (const name of ['keep-alive', 'te', 'proxy-authorization', 'trailer']) t.notOk(name in seen.headers, `${name} not forwarded`);
    t.notOk('connection' in seen.headers, "the client's Connection not forwarded");
    t.equal(res.headers.connection, 'keep-alive', 'Connection: keep-alive');
    t.equal(res.headers['keep-alive'], `timeout=${IDLE_MS / 1000}`, 'Keep-Alive: timeout=<idleTimeout s>');
    t.ok(res.headers.date, 'Date added');
    t.equal(res.framing, 'length');
  });

  t.test("the backend's Connection and the fields it names are not returned", async (t) => {
    const conn = await open(t);
    const res = await counted(t, { requests: 1, handOffs: 0 }, async () => {
      conn.write(plain('/conn-named'));
      return conn.response();
    });
    t.equal(res.status, 200);
    t.equal(res.body.toString(), 'ok');
    t.equal(res.headers['x-visible'], 'yes');
    t.notOk('x-secret' in res.headers, 'X-Secret (named in Connection) dropped');
    t.equal(res.headers.connection, 'keep-alive', "the gateway's own Connection");
    t.equal(res.headers['keep-alive'], `timeout=${IDLE_MS / 1000}`, "the gateway's own Keep-Alive, not the backend's");
  });

  t.test('response parity: the same exchange served directly and by Node', async (t) => {
    // Framing and per-connection fields differ by design and are left out of the comparison:
    // Date (time), Connection / Keep-Alive (Node: close on a closing request), Transfer-Encoding /
    // Content-Length (the direct path may frame a chunked body by length when it has it all).
    const IGNORED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
    const endToEnd = (r: RawResponse): string[] =>
      r.fields.filter(([name]) => !IGNORED.has(name.toLowerCase())).map(([name, value]) => `${name.toLowerCase()}: ${value}`).sort();
    const ways: { name: string; request: (path: string) => string; delta: { requests: number; handOffs: number } }[] = [
      { name: 'direct', request: (path) => plain(path), delta: { requests: 1, handOffs: 0 } },
      { name: 'Node: POST with Content-Length: 0', request: (path) => plain(path, 'direct.test', ['Content-Length: 0'], 'POST'), delta: { requests: 0, handOffs: 1 } },
      { name: 'Node: Connection: close', request: (path) => plain(path, 'direct.test', ['Connection: close']), delta: { requests: 0, handOffs: 1 } },
      { name: 'Node: a router with a middleware', request: (path) => plain(path, 'mw.test'), delta: { requests: 0, handOffs: 1 } },
      { name: 'Node: a repeated field', request: (path) => plain(path, 'direct.test', ['Accept: */*', 'Accept: */*']), delta: { requests: 0, handOffs: 1 } },
    ];
    for (const path of ['/fixed/a', '/fixed-chunked/a', '/status/404', '/status/500']) {
      const results: { name: string; res: RawResponse }[] = [];
      for (const way of ways) {
        const conn = await open(t);
        const res = await counted(t, way.delta, async () => {
          conn.write(way.request(path));
          return conn.response();
        }, `${path}, ${way.name}: directStats delta`);
        conn.destroy();
        results.push({ name: way.name, res });
      }
      const [direct, ...node] = results;
      for (const other of node) {
        t.equal(other.res.status, direct.res.status, `${path}: status, direct = ${other.name}`);
        t.equal(other.res.head.split('\r\n')[0], direct.res.head.split('\r\n')[0], `${path}: status line, direct = ${other.name}`);
        t.equal(other.res.body.toString('latin1'), direct.res.body.toString('latin1'), `${path}: body, direct = ${other.name}`);
        t.same(endToEnd(direct.res), endToEnd(other.res), `${path}: end-to-end fields, direct = ${other.name}`);
      }
    }
  });

  t.test('a router with plain middlewares is served directly, and as Node serves it', async (t) => {
    const ways = [
      { name: 'direct', request: plain('/echo/x', 'plain-mw.test'), delta: { requests: 1, handOffs: 0 } },
      { name: 'Node (a body)', request: plain('/echo/x', 'plain-mw.test', ['Content-Length: 0'], 'POST'), delta: { requests: 0, handOffs: 1 } },
    ];
    for (const way of ways) {
      const conn = await open(t);
      const res = await counted(t, way.delta, async () => {
        conn.write(way.request);
        return conn.response();
      }, `${way.name}: directStats delta`);
      conn.destroy();
      t.equal(res.status, 200, `${way.name}: status`);
      t.equal(res.headers['x-plain-mw'], 'yes', `${way.name}: the middleware's response field`);
      t.equal(JSON.parse(res.body.toString()).headers['x-to-backend'], 'yes', `${way.name}: the middleware's request field reached the backend`);
    }
  });

  t.test('response framing on the direct path', async (t) => {
    const cases: { name: string; request: string; headRequest?: boolean; status: number; body: Buffer | string; check?: (r: RawResponse) => void }[] = [
      {
        name: 'HEAD: no body, Content-Length kept', request: plain('/sized', 'direct.test', [], 'HEAD'), headRequest: true, status: 200, body: '',
        check: (r) => t.equal(r.headers['content-length'], '11', 'Content-Length of the GET'),
      },
      { name: 'GET of the same', request: plain('/sized'), status: 200, body: 'hello world' },
      {
        name: '204: no body', request: plain('/status/204'), status: 204, body: '',
        check: (r) => {
          t.notOk('transfer-encoding' in r.headers, '204: no Transfer-Encoding');
          t.equal(r.headers['x-status'], '204');
        },
      },
      {
        name: '304: no body', request: plain('/status/304'), status: 304, body: '',
        check: (r) => {
          t.notOk('transfer-encoding' in r.headers, '304: no Transfer-Encoding');
          t.equal(r.headers.etag, '"e"');
        },
      },
      {
        name: 'chunked backend response, re-framed', request: plain('/chunked'), status: 200, body: 'part1-part2-part3',
        check: (r) => t.ok(r.framing === 'chunked' || r.framing === 'length', `framed (${r.framing})`),
      },
      { name: '5 MB body', request: plain('/big'), status: 200, body: BIG, check: (r) => t.equal(r.headers['content-length'], String(BIG.length)) },
      {
        name: 'backend without Content-Length that closes', request: plain('/', 'raw.test'), status: 200, body: 'close-delimited body',
        check: (r) => t.ok(r.framing === 'chunked' || r.framing === 'length', `framed for keep-alive (${r.framing})`),
      },
    ];
    // All on one connection: a stray body byte would corrupt the next response.
    const conn = await open(t);
    for (const c of cases) {
      const res = await counted(t, { requests: 1, handOffs: 0 }, async () => {
        conn.write(c.request);
        return conn.response({ headRequest: c.headRequest });
      }, `${c.name}: directStats delta`);
      t.equal(res.status, c.status, `${c.name}: status`);
      const want = typeof c.body === 'string' ? Buffer.from(c.body) : c.body;
      t.ok(res.body.equals(want), `${c.name}: body intact (${res.body.length} bytes, want ${want.length})`);
      c.check?.(res);
    }
    conn.write(plain('/echo/after'));
    const after = await conn.response();
    t.equal(after.status, 200, 'the connection is still in step after them all');
    t.equal(conn.pending, '', 'nothing stray');
  });

  t.test('upstream failures on the direct path: 502 and 504', async (t) => {
    const cases: { name: string; request: string; status: number; body: RegExp; maxMs: number }[] = [
      { name: 'backend down', request: plain('/echo', 'dead.test'), status: 502, body: /^Bad Gateway\n$/, maxMs: 2000 },
      { name: 'responseHeaderTimeout', request: plain('/slow?ms=2000&id=timeout', 'timeout.test'), status: 504, body: /^Gateway Timeout\n$/, maxMs: 1500 },
    ];
    for (const c of cases) {
      const conn = await open(t);
      const started = Date.now();
      const res = await counted(t, { requests: 1, handOffs: 0 }, async () => {
        conn.write(c.request);
        return conn.response();
      }, `${c.name}: directStats delta`);
      t.equal(res.status, c.status, `${c.name}: status`);
      t.match(res.body.toString(), c.body, `${c.name}: body`);
      t.ok(Date.now() - started < c.maxMs, `${c.name}: answered in ${Date.now() - started} ms`);
      conn.write(plain('/echo/after-error'));
      t.equal((await conn.response()).status, 200, `${c.name}: the connection keeps serving`);
    }
  });
});
