import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { request, type Reply } from '../helpers/http';

/**
 * Portier's own pooled HTTP/1.1 upstream client (upstream-call.ts,
 * upstream-pool.ts, response-parser.ts) seen from a client of the gateway:
 * keep-alive reuse and idle close, exact response framing from raw
 * backends, request bodies, backpressure, aborts, stale sockets.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

/** Resolves with the promise's value, or 'timeout' after `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> => Promise.race([p, sleep(ms).then(() => 'timeout' as const)]);

async function settle(read: () => number, want: (n: number) => boolean, timeoutMs = 3000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!want(read()) && Date.now() < deadline) await sleep(20);
  return read();
}

interface Backend {
  url: string;
  /** Connections accepted, and closed, so far. */
  accepted(): number;
  closed(): number;
  close(): Promise<void>;
}

interface RawRequest {
  method: string;
  path: string;
  /** Index of this request on its connection (0 = first). */
  n: number;
}

async function listen(server: net.Server): Promise<Backend> {
  let accepted = 0;
  let closed = 0;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      closed++;
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted: () => accepted,
    closed: () => closed,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A backend that reads request heads (no bodies) and lets `respond` write exact bytes. */
function rawBackend(respond: (req: RawRequest, socket: net.Socket) => void): Promise<Backend> {
  return listen(
    net.createServer((socket) => {
      let buf = '';
      let n = 0;
      socket.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const [method, path] = buf.slice(0, end).split(' ');
          buf = buf.slice(end + 4);
          respond({ method, path, n: n++ }, socket);
        }
      });
    }),
  );
}

function httpBackend(handler: http.RequestListener): Promise<Backend> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  return listen(server);
}

const route = (url: string): Parameters<typeof startTestGateway>[0] => ({
  http: { routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url }] } } } },
});

/** A gateway in front of `up`; a response head that never comes is a 504 after 3 s, not a hang. */
async function gatewayFor(t: Test, up: Backend, st: { idleConnTimeout?: string; maxIdleConnsPerHost?: number } = {}): Promise<TestGateway> {
  const { idleConnTimeout, maxIdleConnsPerHost } = st;
  const gw = await startTestGateway(route(up.url), {
    staticConfig: { serversTransport: { maxIdleConnsPerHost, forwardingTimeouts: { responseHeaderTimeout: '3s', idleConnTimeout } } },
  });
  t.teardown(async () => {
    await gw.close();
    await up.close();
  });
  return gw;
}

/** A request that never throws: a failed one comes back as status 0 with the error's message. */
const get = (url: string, method = 'GET'): Promise<Reply & { error?: string }> =>
  request(url, { method, timeoutMs: 5000 }).catch((e: Error) => ({ status: 0, headers: {}, body: '', error: e.message }));

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

t.test('keep-alive: sequential requests share one connection, concurrent ones no more than their peak', async (t) => {
  let delayMs = 0;
  const up = await rawBackend((_req, s) => void setTimeout(() => s.write(OK), delayMs));
  const gw = await gatewayFor(t, up);
  for (let i = 0; i < 20; i++) t.equal((await get(gw.url)).status, 200);
  t.equal(up.accepted(), 1, '20 sequential GETs: one backend connection');
  // Slow enough that the 20 requests of a batch are all in flight together.
  delayMs = 100;
  for (const batch of [1, 2]) {
    const replies = await Promise.all(Array.from({ length: 20 }, () => get(gw.url)));
    t.same(replies.map((r) => r.status), Array(20).fill(200), `batch ${batch}: all 200`);
    t.equal(up.accepted(), 20, `after concurrent batch ${batch}: 20 connections in all (peak concurrency 20)`);
  }
  t.equal(up.closed(), 0, 'none closed: all 20 are kept idle (maxIdleConnsPerHost 64)');
});

t.test('maxIdleConnsPerHost: the idle connections beyond it are closed', async (t) => {
  const up = await rawBackend((_req, s) => void setTimeout(() => s.write(OK), 100));
  const gw = await gatewayFor(t, up, { maxIdleConnsPerHost: 2 });
  await Promise.all(Array.from({ length: 10 }, () => get(gw.url)));
  t.equal(up.accepted(), 10, '10 concurrent requests, 10 connections');
  t.equal(await settle(up.closed, (n) => n === 8), 8, 'all but 2 closed once idle');
  for (let i = 0; i < 2; i++) t.equal((await get(gw.url)).status, 200);
  t.equal(up.accepted(), 10, 'the 2 kept are reused');
});

t.test('idleConnTimeout 300ms: the gateway closes the idle connection, the next request opens a new one', async (t) => {
  const up = await rawBackend((_req, s) => s.write(OK));
  const gw = await gatewayFor(t, up, { idleConnTimeout: '300ms' });
  t.equal((await get(gw.url)).status, 200);
  await sleep(100);
  t.equal((await get(gw.url)).status, 200);
  t.equal(up.accepted(), 1, 'reused after 100 ms idle');
  const idleFrom = Date.now();
  t.equal(await settle(up.closed, (n) => n === 1, 2000), 1, 'the backend sees its idle connection closed');
  const idleMs = Date.now() - idleFrom;
  t.ok(idleMs >= 150 && idleMs <= 600, `closed after ${idleMs} ms idle (timeout 300 ms)`);
  t.equal((await get(gw.url)).status, 200);
  t.equal(up.accepted(), 2, 'the next request opened a new connection');
});

interface RawCase {
  name: string;
  method?: string;
  /** Exact bytes the backend writes, or a function that writes them. */
  raw: string | ((s: net.Socket) => void);
  /** The backend closes its side after writing. */
  end?: boolean;
  status: number | 'aborted';
  body?: string;
  /** undefined: the header is absent; RegExp: matched; else equal. */
  headers?: Record<string, string | string[] | RegExp | undefined>;
  /** The connection goes back to the pool: the next request opens no new one. */
  reused: boolean;
}

const bigChunk = 'a'.repeat(0x6000);
const rawCases: RawCase[] = [
  { name: 'Content-Length body', raw: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello', status: 200, body: 'hello', headers: { 'content-length': '5', 'content-type': 'text/plain' }, reused: true },
  {
    name: 'chunked: 3 chunks with extensions and a trailer',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5;a=b\r\nhello\r\n1 ; ext="q"\r\n,\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n',
    status: 200,
    body: 'hello, world',
    headers: { 'x-sum': undefined, trailer: undefined },
    reused: true,
  },
  {
    name: 'chunked, dribbled one byte per write',
    raw: (s) => {
      const bytes = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n');
      let i = 0;
      const next = (): void => void (i < bytes.length && s.write(bytes.subarray(i, ++i), () => setTimeout(next, 1)));
      next();
    },
    status: 200,
    body: 'abcde',
    reused: true,
  },
  // One read holds a chunk larger than the client socket's highWaterMark (16 KiB), a small chunk and the
  // last-chunk: writing the big one pauses the upstream socket, and the response completes in the same read.
  { name: 'chunked: a 24 KiB chunk, a small one and the end in one write', raw: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6000\r\n${bigChunk}\r\n5\r\nhello\r\n0\r\n\r\n`, status: 200, body: `${bigChunk}hello`, reused: true },
  { name: 'close-delimited HTTP/1.0 body', raw: 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end', end: true, status: 200, body: 'until the end', reused: false },
  { name: 'Connection: close from the backend', raw: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', end: true, status: 200, body: 'ok', reused: false },
  { name: '100 Continue and 103 Early Hints, then 200', raw: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok', reused: true },
  { name: '204 without a body', raw: 'HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n', status: 204, body: '', headers: { 'x-a': '1' }, reused: true },
  { name: '304 with a Content-Length and no body', raw: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 42\r\n\r\n', status: 304, body: '', headers: { etag: '"v1"' }, reused: true },
  { name: 'HEAD answered with a Content-Length and no body', method: 'HEAD', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', status: 200, body: '', headers: { 'content-length': '5' }, reused: true },
  { name: 'repeated Set-Cookie', raw: 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n', status: 200, body: '', headers: { 'set-cookie': ['a=1; Path=/', 'b=2'] }, reused: true },
  {
    name: 'hop-by-hop headers from the backend',
    raw: 'HTTP/1.1 200 OK\r\nConnection: x-secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=99, max=7\r\nProxy-Connection: keep-alive\r\nTransfer-Encoding: chunked\r\nX-Kept: yes\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    status: 200,
    body: 'abc',
    headers: { 'x-secret': undefined, 'keep-alive': undefined, 'proxy-connection': undefined, connection: /^close$/, 'x-kept': 'yes' },
    reused: true,
  },
  { name: 'extra bytes after a Content-Length body', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA', status: 200, body: 'hello', reused: false },
  { name: 'garbage status line', raw: 'ICY 200 OK\r\nContent-Length: 2\r\n\r\nok', status: 502, reused: false },
  { name: 'obs-fold header', raw: 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 2\r\n\r\nok', status: 502, reused: false },
  { name: 'Transfer-Encoding and Content-Length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', status: 502, reused: false },
  { name: 'bare-LF line ends in the head', raw: 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', status: 502, reused: false },
  { name: 'status 999', raw: 'HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok', status: 502, reused: false },
  { name: 'conflicting Content-Length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', status: 502, reused: false },
  // Head and bad chunk in one read: nothing has reached the client yet, so a 502 can still be sent.
  { name: 'bad chunk size', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n', status: 502, reused: false },
  { name: '101 to a plain GET', raw: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', status: 502, reused: false },
  { name: 'closes after half the Content-Length body', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello', end: true, status: 'aborted', reused: false },
];

t.test('raw upstream responses, as the client sees them', async (t) => {
  const up = await rawBackend((req, s) => {
    const c = rawCases[Number(req.path.slice(1))];
    if (!c) return void s.write(OK);
    if (typeof c.raw === 'function') c.raw(s);
    else s.write(c.raw);
    if (c.end) s.end();
  });
  const gw = await gatewayFor(t, up);
  for (const [i, c] of rawCases.entries()) {
    const r = await get(`${gw.url}/${i}`, c.method);
    if (c.status === 'aborted') t.match(r.error ?? `complete ${r.status}`, /aborted|ECONNRESET|socket hang up/, `${c.name}: the client's response is aborted`);
    else {
      t.equal(r.status, c.status, `${c.name}: status (${r.error ?? 'no error'})`);
      if (c.status === 502) t.ok(r.body.length > 0 && r.body.length < 100 && /Bad Gateway/.test(r.body), `${c.name}: a short 502 body (${JSON.stringify(r.body)})`);
      else t.equal(r.body, c.body, `${c.name}: body`);
    }
    for (const [name, want] of Object.entries(c.headers ?? {})) {
      if (want === undefined) t.notOk(name in r.headers, `${c.name}: no ${name} header`);
      else if (want instanceof RegExp) t.match(r.headers[name], want, `${c.name}: ${name} header`);
      else t.same(r.headers[name], want, `${c.name}: ${name} header`);
    }
    const before = up.accepted();
    const next = await get(`${gw.url}/ok`);
    t.equal(next.status, 200, `${c.name}: the next request succeeds (${next.error ?? next.body})`);
    t.equal(up.accepted() - before, c.reused ? 0 : 1, `${c.name}: ${c.reused ? 'the connection is reused' : 'the next request opens a new connection'}`);
  }
});

/** A request whose body is written in `chunks`, 10 ms apart. */
function send(url: string, chunks: Buffer[], headers: http.OutgoingHttpHeaders): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    void (async () => {
      for (const c of chunks) {
        req.write(c);
        await sleep(10);
      }
      req.end();
    })();
  });
}

t.test('request bodies reach the backend byte-exact', async (t) => {
  const up = await httpBackend((req, res) => {
    const hash = crypto.createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => res.end(JSON.stringify({ sha: hash.digest('hex'), te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null })));
  });
  const gw = await gatewayFor(t, up);
  const mb = crypto.randomBytes(1 << 20);
  const pieces = [1, 7000, 65_536, 300_000, 12].map((n) => crypto.randomBytes(n));
  const cases = [
    { name: '1 MB with Content-Length', chunks: [mb], headers: { 'content-length': mb.length }, te: null, cl: String(mb.length) },
    { name: 'chunked, written in 5 pieces', chunks: pieces, headers: { 'transfer-encoding': 'chunked' }, te: 'chunked', cl: null },
  ];
  for (const c of cases) {
    const r = await send(gw.url, c.chunks, c.headers);
    t.equal(r.status, 200, `${c.name}: 200`);
    t.same(JSON.parse(r.body), { sha: sha(Buffer.concat(c.chunks)), te: c.te, cl: c.cl }, `${c.name}: same bytes, framing as sent`);
  }
});

t.test('slow clients at once, on the direct path and through a middleware: each gets its own bytes', async (t) => {
  // Upstream sockets read into one shared buffer: a chunk a response still holds while another connection
  // reads would be overwritten. Clients that stall now and then keep chunks queued while the others read.
  const bodies = Array.from({ length: 4 }, () => crypto.randomBytes(4 << 20));
  const up = await httpBackend((req, res) => {
    const body = bodies[Number(req.url?.split('/').pop())];
    let at = 0;
    const pump = (): void => {
      while (at < body.length) if (!res.write(body.subarray(at, (at += 65_536)))) return void res.once('drain', pump);
      res.end();
    };
    pump();
  });
  const gw = await startTestGateway({
    http: {
      routers: {
        direct: { rule: 'PathPrefix(`/direct`)', service: 'up' },
        mw: { rule: 'PathPrefix(`/mw`)', service: 'up', middlewares: ['noop'] },
      },
      services: { up: { loadBalancer: { servers: [{ url: up.url }] } } },
      middlewares: { noop: { headers: {} } },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await up.close();
  });
  const stalling = (path: string): Promise<Buffer | string> =>
    within(
      new Promise<Buffer>((resolve, reject) => {
        http.get(`${gw.url}${path}`, { agent: false }, (res) => {
          const parts: Buffer[] = [];
          let n = 0;
          res.on('data', (c: Buffer) => {
            parts.push(c);
            if (++n % 8 === 0) {
              res.pause();
              setTimeout(() => res.resume(), 20);
            }
          });
          res.on('end', () => resolve(Buffer.concat(parts)));
          res.on('error', reject);
        }).on('error', reject);
      }).catch((e: Error) => e.message),
      20_000,
    );
  const paths = ['/direct/0', '/direct/1', '/mw/2', '/mw/3'];
  const got = await Promise.all(paths.map(stalling));
  for (const [i, path] of paths.entries()) {
    const g = got[i];
    t.ok(Buffer.isBuffer(g) && g.length === bodies[i].length && sha(g) === sha(bodies[i]), `${path}: 4 MB byte-exact (${Buffer.isBuffer(g) ? g.length : g})`);
  }
});

t.test('backpressure: 8 MB to a client that waits 500 ms before reading arrive complete', async (t) => {
  const big = crypto.randomBytes(8 << 20);
  const up = await httpBackend((req, res) => {
    if (req.url === '/ok') return void res.end('ok');
    if (req.url === '/length') return void res.end(big);
    // Chunked, in 64 KiB writes that honour the backend's own backpressure.
    let at = 0;
    const pump = (): void => {
      while (at < big.length) {
        const ok = res.write(big.subarray(at, (at += 65_536)));
        if (!ok) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const gw = await gatewayFor(t, up);
  for (const path of ['/length', '/chunked']) {
    const got = await within(
      new Promise<Buffer>((resolve, reject) => {
        http.get(`${gw.url}${path}`, { agent: false }, (res) => {
          const parts: Buffer[] = [];
          res.pause();
          setTimeout(() => res.resume(), 500);
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve(Buffer.concat(parts)));
          res.on('error', reject);
        }).on('error', reject);
      }).catch((e: Error) => e.message),
      5000,
    );
    t.ok(Buffer.isBuffer(got) && got.length === big.length && sha(got) === sha(big), `${path}: 8 MB byte-exact (${Buffer.isBuffer(got) ? got.length : got})`);
    const next = await get(`${gw.url}/ok`);
    t.equal(next.status, 200, `${path}: the next request on the pooled connection succeeds`);
  }
});

t.test('a client that leaves mid-response: the upstream connection is closed, not pooled', async (t) => {
  let backendClosed!: () => void;
  const closed = new Promise<void>((r) => (backendClosed = r));
  const up = await httpBackend((req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write(Buffer.alloc(1024, 'x')), 5);
    req.socket.once('close', () => {
      clearInterval(timer);
      backendClosed();
    });
  });
  const gw = await gatewayFor(t, up);
  await new Promise<void>((resolve) => {
    const req = http.get(`${gw.url}/stream`, { agent: false }, (res) => res.once('data', () => (req.destroy(), resolve())));
    req.on('error', () => undefined);
  });
  const leftAt = Date.now();
  t.not(await within(closed, 2000), 'timeout', `the backend's socket closed ${Date.now() - leftAt} ms after the client left`);
  t.equal(up.accepted(), 1);
});

t.test('stale keep-alive connections: GETs are answered 200 on a fresh connection', async (t) => {
  const cases = [
    { name: 'backend closes each idle connection 50 ms after answering', respond: (_req: RawRequest, s: net.Socket) => (s.write(OK), void setTimeout(() => s.end(), 50)) },
    { name: 'backend closes a reused connection on its next request, unanswered', respond: (req: RawRequest, s: net.Socket) => void (req.n > 0 ? s.destroy() : s.write(OK)) },
  ];
  for (const c of cases) {
    const up = await rawBackend(c.respond);
    const gw = await gatewayFor(t, up);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await get(gw.url)).status);
      await sleep(100);
    }
    t.same(statuses, Array(6).fill(200), `${c.name}: all 200`);
    t.equal(up.accepted(), 6, `${c.name}: one connection per request`);
  }
});

t.test('a head that arrives alone: held for its body up to the flushInterval (100 ms by default), an event stream at once', async (t) => {
  const up = await rawBackend((req, socket) => {
    const type = req.path === '/events' ? 'text/event-stream' : 'text/plain';
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    setTimeout(() => socket.write('4\r\nlate\r\n0\r\n\r\n'), 1500);
  });
  const lb = (flushInterval?: string) => ({ loadBalancer: { servers: [{ url: up.url }], ...(flushInterval ? { responseForwarding: { flushInterval } } : {}) } });
  const gw = await startTestGateway({
    http: {
      routers: {
        plain: { rule: 'Host(`plain.test`)', service: 'plain' },
        eager: { rule: 'Host(`eager.test`)', service: 'eager' },
        patient: { rule: 'Host(`patient.test`)', service: 'patient' },
      },
      services: { plain: lb(), eager: lb('-1ms'), patient: lb('400ms') },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await up.close();
  });
  const headAfter = (host: string, path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      http.get(`${gw.url}${path}`, { agent: false, headers: { host } }, (res) => {
        resolve(Date.now() - started);
        res.resume();
      }).on('error', reject);
    });
  const cases = [
    { host: 'plain.test', path: '/events', min: 0, max: 90, why: 'text/event-stream: the head goes out at once' },
    { host: 'plain.test', path: '/stream', min: 90, max: 390, why: 'another stream: after the default 100 ms flush interval, not with the body 1.5 s later' },
    { host: 'eager.test', path: '/stream', min: 0, max: 90, why: 'flushInterval -1ms: at once' },
    { host: 'patient.test', path: '/stream', min: 390, max: 1400, why: 'flushInterval 400ms: after 400 ms' },
  ];
  for (const c of cases) {
    const ms = await headAfter(c.host, c.path);
    t.ok(ms >= c.min && ms < c.max, `${c.host}${c.path}: ${c.why} (${ms} ms)`);
  }
});

t.test('a server that dies after its head, before any body byte: nothing reached the client, the GET goes to the next server', async (t) => {
  const dying = await rawBackend((_req, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n', () => setTimeout(() => socket.destroy(), 20));
  });
  const healthy = await rawBackend((_req, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfine!'));
  const gw = await startTestGateway({
    http: { routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: dying.url }, { url: healthy.url }] } } } },
  });
  t.teardown(async () => {
    await gw.close();
    await dying.close();
    await healthy.close();
  });
  const replies = [await get(`${gw.url}/a`), await get(`${gw.url}/b`)];
  t.same(replies.map((r) => `${r.status} ${r.body}`), ['200 fine!', '200 fine!'], 'both GETs answered by the healthy server');
  t.ok(dying.accepted() >= 1, 'the dying server was tried');
});
