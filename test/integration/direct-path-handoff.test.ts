import t from 'tap';
import type { RawResponse } from '../helpers/raw-conn';
import { plain, sleep, startDirectGateway, type Seen } from '../helpers/direct-fixtures';

/**
 * The direct path (server/direct-connection.ts) on real sockets: what it
 * hands to Node's HTTP server, with the bytes already read, and that Node
 * answers it: requests outside the plain subset (bodies, Expect, HTTP/1.0,
 * Connection: close, malformed or split heads), Upgrade, Proxy-Connection,
 * pipelined requests that mix both, and routers that are not direct or
 * hosts that match no router. Each check asserts what a client sees plus
 * the `web` entrypoint's directStats delta (requests served directly,
 * hand-offs to Node).
 */

t.test('direct path: hand-offs to Node', async (t) => {
  const { gw, counted, open } = await startDirectGateway(t);
  for (const name of ['directMw', 'mw', 'weighted']) t.equal(gw.router(name)?.plain, false, `router ${name} is not plain`);

  t.test("hand-offs are answered by Node's server", async (t) => {
    interface HandOffCase {
      name: string;
      /** Writes, with a pause before each after the first. */
      writes: string[];
      pauseMs?: number;
      statuses: number[];
      /** Sent once the first response (100 Continue) arrived. */
      afterFirst?: string;
      bodyMatch?: RegExp;
      closes?: boolean;
      check?: (responses: RawResponse[]) => void;
    }
    const cases: HandOffCase[] = [
      { name: 'POST with a body', writes: ['POST /echo HTTP/1.1\r\nHost: direct.test\r\nContent-Length: 5\r\n\r\nhello'], statuses: [200], bodyMatch: /"method":"POST".*"body":"hello"/ },
      {
        name: 'chunked request body', writes: ['POST /echo HTTP/1.1\r\nHost: direct.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'],
        statuses: [200], bodyMatch: /"body":"hello world"/,
      },
      {
        name: 'Expect: 100-continue', writes: ['POST /echo HTTP/1.1\r\nHost: direct.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n'],
        afterFirst: 'body', statuses: [100, 200], bodyMatch: /"body":"body"/,
      },
      { name: 'HTTP/1.0', writes: ['GET /echo HTTP/1.0\r\nHost: direct.test\r\n\r\n'], statuses: [200], closes: true, bodyMatch: /"url":"\/echo"/ },
      {
        name: 'Connection: close', writes: [plain('/echo', 'direct.test', ['Connection: close'])], statuses: [200], closes: true,
        check: ([r]) => t.equal(r.headers.connection, 'close', 'Connection: close: answered with Connection: close'),
      },
      { name: 'malformed request (space in a field name)', writes: ['GET /echo HTTP/1.1\r\nHost: direct.test\r\nBad Name: x\r\n\r\n'], statuses: [400], closes: true },
      {
        name: 'a head split across two writes', writes: ['GET /echo/split HTTP/1.1\r\nHost: dir', 'ect.test\r\n\r\n'], pauseMs: 150,
        statuses: [200], bodyMatch: /"url":"\/echo\/split"/,
      },
    ];
    for (const c of cases) {
      const conn = await open(t);
      const responses = await counted(t, { requests: 0, handOffs: 1 }, async () => {
        const out: RawResponse[] = [];
        for (const [i, w] of c.writes.entries()) {
          if (i > 0) await sleep(c.pauseMs ?? 0);
          conn.write(w);
        }
        for (let i = 0; i < c.statuses.length; i++) {
          out.push(await conn.response());
          if (i === 0 && c.afterFirst) conn.write(c.afterFirst);
        }
        return out;
      }, `${c.name}: directStats delta`);
      t.same(responses.map((r) => r.status), c.statuses, `${c.name}: statuses`);
      if (c.bodyMatch) t.match(responses[responses.length - 1].body.toString(), c.bodyMatch, `${c.name}: body`);
      c.check?.(responses);
      if (c.closes) await t.resolves(conn.waitClosed(2000), `${c.name}: connection closed after the response`);
      else {
        // Node owns the connection now: a plain request on it is not counted as direct.
        const next = await counted(t, { requests: 0, handOffs: 0 }, async () => {
          conn.write(plain('/echo/next'));
          return conn.response();
        }, `${c.name}: the next request stays with Node`);
        t.equal(next.status, 200, `${c.name}: the connection keeps serving`);
      }
    }
  });

  t.test('an Upgrade request is handed off', async (t) => {
    const conn = await open(t);
    await counted(t, { requests: 0, handOffs: 1 }, async () => {
      conn.write(plain('/echo/ws', 'direct.test', ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==']));
      // The backend has no upgrade handler: whatever comes back (an answer or a close) is Node's business.
      await Promise.race([conn.response().catch(() => undefined), conn.waitClosed(3000).catch(() => undefined)]);
    });
  });

  t.test('pipelining', async (t) => {
    await t.test('three plain requests in one write: three responses, in order, one connection', async (t) => {
      const conn = await open(t);
      const urls = await counted(t, { requests: 3, handOffs: 0 }, async () => {
        conn.write(plain('/echo/1') + plain('/echo/2', 'direct.test', [], 'HEAD') + plain('/echo/3'));
        const r1 = await conn.response();
        const r2 = await conn.response({ headRequest: true });
        const r3 = await conn.response();
        return [r1, r2, r3].map((r) => (r.body.length ? (JSON.parse(r.body.toString()) as Seen).url : `(${r.status}, no body)`));
      });
      t.same(urls, ['/echo/1', '(200, no body)', '/echo/3']);
      t.equal(conn.closedAt, null, 'still open');
    });
    await t.test('a plain request then a POST with a body in one write: both answered in order', async (t) => {
      const conn = await open(t);
      const bodies = await counted(t, { requests: 1, handOffs: 1 }, async () => {
        conn.write(plain('/echo/first') + 'POST /echo/second HTTP/1.1\r\nHost: direct.test\r\nContent-Length: 3\r\n\r\nabc' + plain('/echo/third'));
        const out: Seen[] = [];
        for (let i = 0; i < 3; i++) out.push(JSON.parse((await conn.response()).body.toString()) as Seen);
        return out.map((s) => `${s.method} ${s.url} ${s.body}`);
      });
      t.same(bodies, ['GET /echo/first ', 'POST /echo/second abc', 'GET /echo/third ']);
    });
    await t.test('more pipelined bytes than a head may hold, behind a slow request: all served directly, in order', async (t) => {
      const conn = await open(t);
      const n = 200;
      const burst = Array.from({ length: n }, (_, i) => plain(`/echo/p${i}`, 'direct.test', [`X-Pad: ${'p'.repeat(60)}`])).join('');
      t.ok(burst.length > 16_384, `${burst.length} bytes pipelined (maxHeaderBytes 16384: the connection pauses reading)`);
      const urls = await counted(t, { requests: n + 1, handOffs: 0 }, async () => {
        conn.write(plain('/slow?ms=200&id=pipelined') + burst);
        const out: string[] = [(await conn.response()).body.toString()];
        for (let i = 0; i < n; i++) out.push((JSON.parse((await conn.response()).body.toString()) as Seen).url);
        return out;
      });
      t.same(urls, ['slow pipelined', ...Array.from({ length: n }, (_, i) => `/echo/p${i}`)]);
    });
    await t.test('a plain request then the start of another, completed later: the rest goes to Node', async (t) => {
      const conn = await open(t);
      const urls = await counted(t, { requests: 1, handOffs: 1 }, async () => {
        conn.write(plain('/echo/whole') + 'GET /echo/part HTTP/1.1\r\nHo');
        const first = await conn.response();
        await sleep(100);
        conn.write('st: direct.test\r\n\r\n');
        const second = await conn.response();
        return [first, second].map((r) => (JSON.parse(r.body.toString()) as Seen).url);
      });
      t.same(urls, ['/echo/whole', '/echo/part']);
    });
  });

  t.test('Proxy-Connection: close is handed off: Node reads it as Connection: close', async (t) => {
    // llhttp treats Proxy-Connection as Connection: Node's server answers `Connection: close` and closes.
    const conn = await open(t);
    const res = await counted(t, { requests: 0, handOffs: 1 }, async () => {
      conn.write(plain('/echo/pc', 'direct.test', ['Proxy-Connection: close']));
      return conn.response();
    });
    t.equal(res.status, 200, 'answered');
    t.equal(res.headers.connection, 'close', 'answered with Connection: close');
    await t.resolves(conn.waitClosed(1000), 'then closed');
  });

  t.test('routers that are not plain are handed off and answered; an unknown host is answered directly', async (t) => {
    const cases: { name: string; host: string; path?: string; status: number; check?: (r: RawResponse) => void; direct?: boolean }[] = [
      { name: 'router with a middleware that is not plain', host: 'mw.test', status: 200, check: (r) => t.equal(r.headers['x-backend'], 'main') },
      {
        name: 'same host as a direct router, a path with a middleware', host: 'direct.test', path: '/fixed/mw/x', status: 203,
        check: (r) => t.equal(r.body.toString(), 'parity body'),
      },
      { name: 'unknown host', host: 'nobody.test', status: 404, check: (r) => t.match(r.body.toString(), /404 page not found/), direct: true },
      { name: 'weighted service', host: 'weighted.test', status: 200, check: (r) => t.equal(r.headers['x-backend'], 'main') },
    ];
    for (const c of cases) {
      const conn = await open(t);
      const res = await counted(t, c.direct ? { requests: 1, handOffs: 0 } : { requests: 0, handOffs: 1 }, async () => {
        conn.write(plain(c.path ?? '/echo/x', c.host));
        return conn.response();
      }, `${c.name}: directStats delta`);
      t.equal(res.status, c.status, `${c.name}: status`);
      c.check?.(res);
    }
  });
});
