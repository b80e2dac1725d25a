import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

/**
 * The direct path (server/direct-connection.ts) on real sockets: plain
 * requests to a bare load-balancer router are read and answered by Portier
 * itself, everything else is handed to Node's HTTP server with its bytes.
 * Each check asserts what a client sees plus the `web` entrypoint's
 * directStats delta (requests served directly, hand-offs to Node).
 */

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client: byte-exact requests, responses framed by hand.

interface RawResponse {
  status: number;
  /** Status line and fields as received (latin1, without the blank line). */
  head: string;
  /** [name as sent, value] in order. */
  fields: [string, string][];
  /** Lower-cased names; repeated fields joined with ', ' (set-cookie: '\n'). */
  headers: Record<string, string>;
  body: Buffer;
  /** How the body was framed: 'none' | 'length' | 'chunked' | 'close'. */
  framing: string;
}

class RawConn {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  /** Date.now() when the gateway closed the connection (or it errored). */
  closedAt: number | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = Date.now();
        this.wake?.();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConn(socket));
      });
      socket.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Bytes received and not consumed by response(). */
  get pending(): string {
    return this.buf.toString('latin1');
  }

  /** Waits (bounded) until `take` returns something, re-trying at each new chunk and at close. */
  private async until<T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      const left = deadline - Date.now();
      if (this.closedAt !== null || left <= 0) {
        const state = this.closedAt !== null ? 'connection closed' : `no ${what} within ${timeoutMs} ms`;
        throw new Error(`${state}; unread: ${JSON.stringify(this.pending.slice(0, 300))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** The next response; `headRequest`: it answers a HEAD (no body whatever the fields say). */
  response(opts: { headRequest?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    return this.until(() => this.takeResponse(opts.headRequest ?? false), 'response', opts.timeoutMs ?? 5000);
  }

  /** Resolves when the gateway closes the connection, or rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closed,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return this.closedAt!;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private takeResponse(headRequest: boolean): RawResponse | undefined {
    const blank = this.buf.indexOf('\r\n\r\n');
    if (blank < 0) return undefined;
    const head = this.buf.toString('latin1', 0, blank);
    const [statusLine, ...lines] = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const status = Number(m[1]);
    const fields = lines.map((l): [string, string] => {
      const colon = l.indexOf(':');
      return [l.slice(0, colon), l.slice(colon + 1).trim()];
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of fields) {
      const key = name.toLowerCase();
      headers[key] = headers[key] === undefined ? value : `${headers[key]}${key === 'set-cookie' ? '\n' : ', '}${value}`;
    }
    let at = blank + 4;
    let body: Buffer;
    let framing: string;
    if (headRequest || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
      framing = 'none';
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const eol = this.buf.indexOf('\r\n', at);
        if (eol < 0) return undefined;
        const size = parseInt(this.buf.toString('latin1', at, eol), 16);
        if (Number.isNaN(size)) throw new Error(`bad chunk size at ${JSON.stringify(this.buf.toString('latin1', at, at + 20))}`);
        if (size === 0) {
          // No trailers expected: the last chunk is followed by the blank line.
          if (this.buf.length < eol + 4) return undefined;
          at = eol + 4;
          break;
        }
        if (this.buf.length < eol + 2 + size + 2) return undefined;
        parts.push(this.buf.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
      framing = 'chunked';
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (this.buf.length < at + n) return undefined;
      body = Buffer.from(this.buf.subarray(at, at + n));
      at += n;
      framing = 'length';
    } else {
      if (this.closedAt === null) return undefined;
      body = Buffer.from(this.buf.subarray(at));
      at = this.buf.length;
      framing = 'close';
    }
    this.buf = this.buf.subarray(at);
    return { status, head, fields, headers, body, framing };
  }
}

/** A GET (or other bodiless method) in the plain subset: keep-alive HTTP/1.1, Host first. */
const plain = (path: string, host = 'direct.test', extra: string[] = [], method = 'GET'): string =>
  `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra.map((l) => `${l}\r\n`).join('')}\r\n`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

// ---------------------------------------------------------------------------
// Backends.

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const BIG = Buffer.alloc(5 * 1024 * 1024);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + (i >>> 13)) & 0xff;

/** The fixed answer of /fixed…: the same whatever the request, for parity checks. */
function fixed(res: http.ServerResponse, chunked: boolean): void {
  res.statusCode = 203;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('ETag', '"v1"');
  res.setHeader('Cache-Control', 'no-cache, private');
  res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
  res.setHeader('X-Spaced', 'one  two\tthree');
  res.setHeader('Vary', 'Accept-Encoding');
  if (!chunked) {
    res.end('parity body');
    return;
  }
  res.write('parity ');
  setTimeout(() => res.end('body, chunked'), 10);
}

interface Backend {
  url: string;
  seen: Seen[];
  /** Requests to /slow whose connection closed before their response finished. */
  abandoned: string[];
  /** Requests to /slow currently waiting. */
  waiting: Set<string>;
  close(): Promise<void>;
}

async function startBackend(): Promise<Backend> {
  const seen: Seen[] = [];
  const abandoned: string[] = [];
  const waiting = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const record = { method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(record);
      const path = url.split('?')[0];
      const query = new URLSearchParams(url.split('?')[1] ?? '');
      if (path.startsWith('/fixed-chunked')) return fixed(res, true);
      if (path.startsWith('/fixed')) return fixed(res, false);
      if (path.startsWith('/status/')) {
        const status = Number(path.slice(8));
        res.writeHead(status, { 'x-status': String(status), ...(status === 304 ? { etag: '"e"' } : {}) });
        res.end(status === 204 || status === 304 ? undefined : `status ${status}`);
        return;
      }
      if (path === '/sized') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
        res.end(req.method === 'HEAD' ? undefined : 'hello world');
        return;
      }
      if (path === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1-');
        setTimeout(() => res.write('part2-'), 20);
        setTimeout(() => res.end('part3'), 40);
        return;
      }
      if (path === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) });
        res.end(BIG);
        return;
      }
      if (path === '/conn-named') {
        res.writeHead(200, { connection: 'X-Secret', 'x-secret': 'hidden', 'keep-alive': 'timeout=99', 'x-visible': 'yes', 'content-length': '2' });
        res.end('ok');
        return;
      }
      if (path === '/slow') {
        const id = query.get('id') ?? url;
        waiting.add(id);
        const timer = setTimeout(() => res.end(`slow ${id}`), Number(query.get('ms') ?? 1000));
        res.once('close', () => {
          waiting.delete(id);
          clearTimeout(timer);
          if (!res.writableFinished) abandoned.push(id);
        });
        return;
      }
      // /echo and anything else: what the backend received.
      const payload = JSON.stringify(record);
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'main' });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen, abandoned, waiting,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A backend that answers every request with a close-delimited body (no Content-Length, no chunking). */
async function startCloseDelimitedBackend(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited ');
      setTimeout(() => socket.end('body'), 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

// ---------------------------------------------------------------------------

const IDLE_MS = 1000;
const HEADER_MS = 1000;

t.test('direct path', async (t) => {
  const backend = await startBackend();
  const closeDelimited = await startCloseDelimitedBackend();
  const dead = await deadPort();
  const lb = (url: string, extra: Record<string, unknown> = {}) => ({ loadBalancer: { servers: [{ url }], ...extra } });
  const gw = await startTestGateway(
    {
      http: {
        routers: {
          direct: { rule: 'Host(`direct.test`)', service: 'main' },
          // Same host, a middleware on one prefix: that request leaves the direct path.
          directMw: { rule: 'Host(`direct.test`) && PathPrefix(`/fixed/mw`)', service: 'main', middlewares: ['noop'] },
          mw: { rule: 'Host(`mw.test`)', service: 'main', middlewares: ['noop'] },
          weighted: { rule: 'Host(`weighted.test`)', service: 'weighted' },
          raw: { rule: 'Host(`raw.test`)', service: 'raw' },
          dead: { rule: 'Host(`dead.test`)', service: 'dead' },
          timeout: { rule: 'Host(`timeout.test`)', service: 'quick' },
        },
        services: {
          main: lb(backend.url),
          weighted: { weighted: { services: [{ name: 'main', weight: 1 }] } },
          raw: lb(closeDelimited.url),
          dead: lb(`http://127.0.0.1:${dead}`),
          quick: lb(backend.url, { serversTransport: 'quick' }),
        },
        // A headers middleware with nothing to add: only its presence matters.
        middlewares: { noop: { headers: {} } },
        serversTransports: { quick: { forwardingTimeouts: { responseHeaderTimeout: '300ms' } } },
      },
    },
    {
      staticConfig: {
        entryPoints: { web: { address: '127.0.0.1:0', transport: { respondingTimeouts: { idleTimeout: `${IDLE_MS}ms`, readHeaderTimeout: `${HEADER_MS}ms` } } } },
      },
    },
  );
  t.teardown(async () => {
    await gw.close();
    await backend.close();
    await closeDelimited.close();
  });
  for (const name of ['direct', 'raw', 'dead', 'timeout']) t.equal(gw.router(name)?.direct, true, `router ${name} is direct`);
  for (const name of ['directMw', 'mw', 'weighted']) t.equal(gw.router(name)?.direct, false, `router ${name} is not direct`);

  const stats = (): { requests: number; handOffs: number } => ({ ...gw.gateway.directStats('web')! });
  /** Runs `fn`, then checks the directStats delta. */
  async function counted<T>(tt: Test, expected: { requests: number; handOffs: number }, fn: () => Promise<T>, what = 'directStats delta'): Promise<T> {
    const before = stats();
    const out = await fn();
    const after = stats();
    tt.same({ requests: after.requests - before.requests, handOffs: after.handOffs - before.handOffs }, expected, what);
    return out;
  }
  const open = async (tt: Test): Promise<RawConn> => {
    const conn = await RawConn.open(gw.port);
    tt.teardown(() => conn.destroy());
    return conn;
  };

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

  t.test('keep-alive and timeouts', async (t) => {
    const sequential = (async () => {
      const conn = await open(t);
      let last = 0;
      await counted(t, { requests: 5, handOffs: 0 }, async () => {
        for (let i = 0; i < 5; i++) {
          conn.write(plain(`/echo/seq${i}`));
          const r = await conn.response();
          t.equal(r.status, 200, `sequential request ${i}`);
          t.equal(r.headers.connection, 'keep-alive');
        }
        last = Date.now();
      }, 'five sequential requests on one connection: all direct');
      const closedAt = await conn.waitClosed(IDLE_MS + 2000);
      const idle = closedAt - last;
      t.ok(idle >= IDLE_MS - 100 && idle <= IDLE_MS + 1000, `idle connection closed after idleTimeout (${idle} ms)`);
    })();
    const silent = (async () => {
      const opened = Date.now();
      const conn = await open(t);
      const closedAt = await conn.waitClosed(HEADER_MS + 2000);
      const waited = closedAt - opened;
      t.ok(waited >= HEADER_MS - 100 && waited <= HEADER_MS + 1000, `a connection that sends nothing is closed after readHeaderTimeout (${waited} ms)`);
      t.equal(conn.pending, '', 'without a response');
    })();
    await Promise.all([sequential, silent]);
  });

  t.test('routers that are not direct, and unknown hosts, are handed off and answered', async (t) => {
    const cases: { name: string; host: string; path?: string; status: number; check?: (r: RawResponse) => void }[] = [
      { name: 'router with a middleware', host: 'mw.test', status: 200, check: (r) => t.equal(r.headers['x-backend'], 'main') },
      {
        name: 'same host as a direct router, a path with a middleware', host: 'direct.test', path: '/fixed/mw/x', status: 203,
        check: (r) => t.equal(r.body.toString(), 'parity body'),
      },
      { name: 'unknown host', host: 'nobody.test', status: 404, check: (r) => t.match(r.body.toString(), /404 page not found/) },
      { name: 'weighted service', host: 'weighted.test', status: 200, check: (r) => t.equal(r.headers['x-backend'], 'main') },
    ];
    for (const c of cases) {
      const conn = await open(t);
      const res = await counted(t, { requests: 0, handOffs: 1 }, async () => {
        conn.write(plain(c.path ?? '/echo/x', c.host));
        return conn.response();
      }, `${c.name}: directStats delta`);
      t.equal(res.status, c.status, `${c.name}: status`);
      c.check?.(res);
    }
  });

  t.test('a client that leaves mid-response aborts the upstream request', async (t) => {
    const ways: [string, (c: RawConn) => void][] = [
      ['destroyed socket', (c) => c.destroy()],
      // As Node's server with httpAllowHalfOpen off: a FIN abandons the request in flight.
      ['half-close (FIN)', (c) => c.socket.end()],
    ];
    for (const [name, leave] of ways) {
      const id = `abort-${name.replace(/\W+/g, '-')}`;
      const conn = await open(t);
      await counted(t, { requests: 1, handOffs: 0 }, async () => {
        conn.write(plain(`/slow?ms=3000&id=${id}`));
        await within(2000, `${name}: backend got the request`, (async () => {
          while (!backend.waiting.has(id)) await sleep(10);
        })());
      }, `${name}: directStats delta`);
      leave(conn);
      await within(2000, `${name}: the backend's request closed`, (async () => {
        while (!backend.abandoned.includes(id)) await sleep(10);
      })());
      t.pass(`${name}: the backend saw its connection close before the response`);
      await t.resolves(conn.waitClosed(2000), `${name}: the client connection is closed`);
    }
    const conn = await open(t);
    conn.write(plain('/echo/still'));
    t.equal((await conn.response()).status, 200, 'the gateway still serves');
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

t.test('entrypoints with writeTimeout or keepAliveMaxRequests keep every connection with Node', async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const dynamic = { http: { routers: { r: { rule: 'Host(`direct.test`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: backend.url }] } } } } };
  const cases: [string, Record<string, unknown>][] = [
    ['writeTimeout', { respondingTimeouts: { writeTimeout: '5s' } }],
    ['keepAliveMaxRequests', { keepAliveMaxRequests: 10 }],
  ];
  for (const [name, transport] of cases) {
    const gw = await startTestGateway(dynamic, { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport } } } });
    const conn = await RawConn.open(gw.port);
    conn.write(plain('/echo/a'));
    const res = await conn.response();
    conn.destroy();
    await gw.close();
    t.equal(res.status, 200, `${name}: answered`);
    t.same({ ...gw.gateway.directStats('web') }, { requests: 0, handOffs: 0 }, `${name}: by Node's server, never taken by the direct path`);
  }
});

t.test('graceful shutdown lets a direct request in flight finish, with Connection: close', async (t) => {
  const backend = await startBackend();
  const gw: TestGateway = await startTestGateway({
    http: { routers: { r: { rule: 'Host(`direct.test`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: backend.url }] } } } },
  });
  t.teardown(async () => {
    await gw.close();
    await backend.close();
  });
  const before = { ...gw.gateway.directStats('web')! };
  const busy = await RawConn.open(gw.port);
  const idle = await RawConn.open(gw.port);
  t.teardown(() => {
    busy.destroy();
    idle.destroy();
  });
  idle.write(plain('/echo/idle'));
  t.equal((await idle.response()).status, 200, 'a kept-alive connection, idle at shutdown');
  busy.write(plain('/slow?ms=600&id=shutdown'));
  await within(2000, 'backend got the request', (async () => {
    while (!backend.waiting.has('shutdown')) await sleep(10);
  })());
  const closing = gw.close();
  await t.resolves(idle.waitClosed(500), 'the idle connection is closed at once');
  const res = await busy.response({ timeoutMs: 3000 });
  t.equal(res.status, 200, 'the request in flight completes');
  t.equal(res.body.toString(), 'slow shutdown');
  t.equal(res.headers.connection, 'close', 'its response says Connection: close');
  t.notOk('keep-alive' in res.headers, 'and no Keep-Alive');
  await t.resolves(busy.waitClosed(2000), 'then the connection closes');
  await within(3000, 'gateway.close()', closing);
  const after = gw.gateway.directStats('web')!;
  t.same({ requests: after.requests - before.requests, handOffs: after.handOffs - before.handOffs }, { requests: 2, handOffs: 0 }, 'both requests were direct');
});
