import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway';

/**
 * Edges of the upstream client (upstream-call.ts, upstream-pool.ts, response-parser.ts) behind Node's
 * server, over raw sockets where bytes matter. Complements upstream-client.test.ts.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

async function until(pred: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!pred() && Date.now() < deadline) await sleep(10);
  return pred();
}

interface Parsed { status: number; head: string; headers: Record<string, string[]>; body: string }

/** A chunked body starting at `p`: its text and where it ends, or null while incomplete. */
function dechunk(buf: Buffer, p: number): { body: string; end: number } | null {
  let body = '';
  for (let nl = buf.indexOf('\r\n', p); nl >= 0; nl = buf.indexOf('\r\n', p)) {
    const size = parseInt(buf.toString('latin1', p, nl), 16);
    if (size === 0) return buf.indexOf('\r\n\r\n', nl) < 0 ? null : { body, end: buf.indexOf('\r\n\r\n', nl) + 4 };
    if (nl + size + 4 > buf.length) return null;
    body += buf.toString('latin1', nl + 2, nl + 2 + size);
    p = nl + size + 4;
  }
  return null;
}

/** Client-side framing of the bytes received; `methods` are the requests' in order (HEAD: no body). `rest`: bytes left over. */
function parseResponses(buf: Buffer, methods: string[], closed: boolean): { list: Parsed[]; rest: number } {
  const list: Parsed[] = [];
  let at = 0;
  for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n', at)) {
    const head = buf.toString('latin1', at, end);
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string[]> = {};
    for (const l of lines) (headers[l.slice(0, l.indexOf(':')).toLowerCase()] ??= []).push(l.slice(l.indexOf(':') + 1).trim());
    let p = end + 4;
    let body = '';
    const cl = headers['content-length'] ? Number(headers['content-length'][0]) : -1;
    const c = /chunked/i.test(String(headers['transfer-encoding'])) ? dechunk(buf, p) : undefined;
    if (status < 200 || methods[list.length] === 'HEAD' || status === 204 || status === 304) body = '';
    else if (c !== undefined) {
      if (!c) break;
      ({ body, end: p } = c);
    } else if (cl >= 0) {
      if (p + cl > buf.length) break;
      body = buf.toString('latin1', p, (p += cl));
    } else if (closed) body = buf.toString('latin1', p, (p = buf.length));
    else break;
    if (status >= 200) list.push({ status, head, headers, body });
    at = p;
  }
  return { list, rest: buf.length - at };
}

class RawClient {
  private chunks: Buffer[] = [];
  closed = false;
  constructor(readonly socket: net.Socket) { socket.on('data', (d: Buffer) => this.chunks.push(d)).on('close', () => (this.closed = true)).on('error', () => undefined); }
  get data(): Buffer { return Buffer.concat(this.chunks); }
  responses(methods: string[]): { list: Parsed[]; rest: number } { return parseResponses(this.data, methods, this.closed); }
}

/** A raw client that wrote `send` and waited (≤ 3 s) for `methods.length` responses or a close. */
async function ask(t: Test, port: number, send: string, methods = ['GET']): Promise<RawClient> {
  const client = await new Promise<RawClient>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s))).once('error', reject);
    t.teardown(() => void s.destroy());
  });
  client.socket.write(send, 'latin1');
  if (methods.length) await until(() => client.responses(methods).list.length >= methods.length || client.closed);
  return client;
}

interface Backend { url: string; port: number; open(): number; accepted(): number; close(): Promise<void> }

async function listen(t: Test, server: net.Server): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  server.on('connection', (s: net.Socket) => {
    accepted++;
    sockets.add(s.on('error', () => undefined).on('close', () => sockets.delete(s)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const close = (): Promise<void> => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); });
  t.teardown(() => server.listening && close());
  return { url: `http://127.0.0.1:${port}`, port, open: () => sockets.size, accepted: () => accepted, close };
}

interface RawReq { method: string; target: string; head: string }

/** Reads request heads only (bodies must not contain CRLFCRLF); `respond` writes exact bytes. */
function rawBackend(t: Test, respond: (req: RawReq, s: net.Socket) => void, heads: RawReq[] = []): Promise<Backend> {
  return listen(t, net.createServer((s) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const [method, target] = head.split(' ');
        heads.push({ method, target, head });
        respond({ method, target, head }, s);
      }
    });
  }));
}

/** One service in front of `servers`; a head that never comes is a 504 after 3 s. */
async function gateway(t: Test, servers: string[], lb: { passHostHeader?: boolean } = {}, maxIdleConnsPerHost?: number): Promise<{ url: string; port: number }> {
  const gw = await startTestGateway(
    { http: { routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } }, services: { s: { loadBalancer: { servers: servers.map((url) => ({ url })), ...lb } } } } },
    { staticConfig: { serversTransport: { maxIdleConnsPerHost, forwardingTimeouts: { responseHeaderTimeout: '3s' } } } },
  );
  t.teardown(() => gw.close());
  return gw;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const BIG = 'b'.repeat(100_000);
const GZ = zlib.gzipSync('ok').toString('latin1');
const LATIN = 'caf\xe9 \x80\xff';
const latinHead = (extra = ''): string => `HTTP/1.1 200 Ok ${LATIN}\r\n${extra}X-Latin: ${LATIN}\r\nContent-Length: 2\r\n\r\n`;
const headers = (n: number): string => `HTTP/1.1 200 OK\r\n${Array.from({ length: n }, (_, i) => `X-H-${i}: ${'v'.repeat(190)}\r\n`).join('')}Content-Length: 2\r\n\r\nok`;
const later = (first: string, rest: string, ms: number) => (s: net.Socket): void => { s.write(first, 'latin1'); setTimeout(() => s.write(rest, 'latin1'), ms); };
const routes: Record<string, string | ((s: net.Socket) => void)> = {
  '/cl': OK,
  '/chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  '/head-chunked': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n',
  '/304': 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 42\r\n\r\n',
  '/204': 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n',
  '/slow': later('', 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow', 150),
  '/big': later(`HTTP/1.1 200 OK\r\nContent-Length: ${BIG.length}\r\n\r\n${BIG.slice(0, 1000)}`, BIG.slice(1000), 5),
  '/gzip-chunked': `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${GZ.length.toString(16)}\r\n${GZ}\r\n0\r\n\r\n`,
  '/gzip': (s) => s.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n${GZ}`, 'latin1'),
  '/latin': `${latinHead()}ok`,
  '/latin-late': later(latinHead(), 'ok', 250),
  '/latin-sse': later(latinHead('Content-Type: text/event-stream\r\n'), 'ok', 250),
  '/h200': headers(200),
  '/h350': headers(350),
};
const routed = (t: Test, heads: RawReq[] = []): Promise<Backend> =>
  rawBackend(t, (req, s) => {
    const r = routes[req.target.split('?')[0]] ?? OK;
    return typeof r === 'string' ? void s.write(r, 'latin1') : r(s);
  }, heads);

const req = (method: string, path: string, version = '1.1', extra = ''): string => `${method} ${path} HTTP/${version}\r\n${version === '1.1' ? 'Host: a\r\n' : ''}${extra}\r\n`;
const KA = 'Connection: keep-alive\r\n';
type Want = [number, string][];
const conversations: { name: string; steps: { send: string; methods: string[]; want: Want }[]; closed: boolean }[] = [
  { name: 'HTTP/1.0 without Host, chunked upstream', steps: [{ send: req('GET', '/chunked', '1.0'), methods: ['GET'], want: [[200, 'hello world']] }], closed: true },
  { name: 'HTTP/1.0 keep-alive, chunked upstream', steps: [{ send: req('GET', '/chunked', '1.0', KA), methods: ['GET'], want: [[200, 'hello world']] }], closed: true },
  { name: 'HTTP/1.0 keep-alive, Content-Length upstream, twice', steps: [1, 2].map(() => ({ send: req('GET', '/cl', '1.0', KA), methods: ['GET'], want: [[200, 'ok']] as Want })), closed: false },
  { name: 'pipelining: 3 GETs in one packet, the first slow, the second 100 KB', steps: [{ send: req('GET', '/slow') + req('GET', '/big') + req('GET', '/chunked'), methods: ['GET', 'GET', 'GET'], want: [[200, 'slow'], [200, BIG], [200, 'hello world']] }], closed: false },
  { name: 'HEAD answered chunked without a body, then a GET', steps: [{ send: req('HEAD', '/head-chunked'), methods: ['HEAD'], want: [[200, '']] }, { send: req('GET', '/cl'), methods: ['GET'], want: [[200, 'ok']] }], closed: false },
  { name: 'HEAD and GET pipelined', steps: [{ send: req('HEAD', '/head-chunked') + req('GET', '/chunked'), methods: ['HEAD', 'GET'], want: [[200, ''], [200, 'hello world']] }], closed: false },
  { name: '304 with Content-Length, then a GET', steps: [{ send: req('GET', '/304'), methods: ['GET'], want: [[304, '']] }, { send: req('GET', '/cl'), methods: ['GET'], want: [[200, 'ok']] }], closed: false },
  { name: '204 with Transfer-Encoding, then a GET', steps: [{ send: req('GET', '/204'), methods: ['GET'], want: [[204, '']] }, { send: req('GET', '/cl'), methods: ['GET'], want: [[200, 'ok']] }], closed: false },
];

t.test('raw client conversations: HTTP/1.0, pipelining, bodiless responses, connection reuse', async (t) => {
  const heads: RawReq[] = [];
  const up = await routed(t, heads);
  const gw = await gateway(t, [up.url]);
  const short = (w: Want): Want => w.map(([s, b]) => [s, b.length > 100 ? `${b.length} bytes` : b]);
  for (const c of conversations) {
    const client = await ask(t, gw.port, '', []);
    const methods: string[] = [];
    const want: Want = [];
    for (const step of c.steps) {
      methods.push(...step.methods);
      want.push(...step.want);
      client.socket.write(step.send, 'latin1');
      await until(() => client.responses(methods).list.length >= want.length || client.closed);
    }
    await (c.closed ? until(() => client.closed, 2000) : sleep(50));
    const { list, rest } = client.responses(methods);
    t.same(short(list.map((r) => [r.status, r.body])), short(want), `${c.name}: responses in order`);
    t.equal(rest, 0, `${c.name}: no stray bytes after the responses`);
    t.equal(client.closed, c.closed, `${c.name}: connection ${c.closed ? 'closed' : 'kept open'}`);
    if (c.steps[0].send.includes('HTTP/1.0')) t.notOk(list[0]?.headers['transfer-encoding'], `${c.name}: no chunked framing to an HTTP/1.0 client`);
  }
  t.same(heads[0].head.split('\r\n').filter((l) => /^host:/i.test(l)), [`host: 127.0.0.1:${up.port}`], 'HTTP/1.0 without Host: the backend gets the server URL as Host');
});

t.test('response heads byte-exact (obs-text, 200 fields), oversized heads, transfer-codings; request bytes upstream', async (t) => {
  const heads: RawReq[] = [];
  const up = await routed(t, heads);
  const gw = await gateway(t, [up.url]);
  const first = async (send: string): Promise<Parsed | undefined> => (await ask(t, gw.port, send)).responses(['GET']).list[0];
  // Head and body in one read; head alone then its body 250 ms later (flushed after 100 ms); an event stream (flushed at once).
  for (const path of ['/latin', '/latin-late', '/latin-sse']) {
    const r = await first(req('GET', path));
    t.equal(r?.headers['x-latin']?.[0], LATIN, `${path}: obs-text header value byte-exact (got ${JSON.stringify(r?.headers['x-latin']?.[0])})`);
    t.equal(r?.head.split('\r\n')[0], `HTTP/1.1 200 Ok ${LATIN}`, `${path}: obs-text reason phrase byte-exact (got ${JSON.stringify(r?.head.split('\r\n')[0])})`);
    t.equal(r?.body, 'ok', `${path}: body`);
  }
  const target = '/p%20a/%C3%A9;v=1/~x?q=%2F%zz&x=a+b&&y=%C3%A9';
  await first(req('GET', target, '1.1', `X-Client: ${LATIN}\r\n`));
  t.equal(heads.at(-1)?.target, target, 'percent-encoded path and raw query reach the backend byte-exact');
  t.match(heads.at(-1)?.head, `\r\nx-client: ${LATIN}\r\n`, 'obs-text request header reaches the backend byte-exact');
  const many = await first(req('GET', '/h200'));
  t.equal(many?.status, 200, '200 response fields (40 KB head): 200');
  t.equal(Object.keys(many?.headers ?? {}).filter((h) => h.startsWith('x-h-')).length, 200, 'all 200 fields reach the client');
  t.equal((await first(req('GET', '/h350')))?.status, 502, 'a 70 KB response head: 502');
  // A transfer-coding other than chunked: Go's client refuses it (502); dropping the header hands the client gzip as identity.
  for (const path of ['/gzip-chunked', '/gzip']) {
    const r = await first(req('GET', path));
    const codings = `${r?.headers['transfer-encoding'] ?? ''} ${r?.headers['content-encoding'] ?? ''}`;
    t.ok(r?.status === 502 || /gzip/i.test(codings), `${path}: refused or its coding kept, never passed on as identity (got ${r?.status}, codings "${codings}", body ${JSON.stringify(r?.body)})`);
  }
});

t.test('passHostHeader false, and a server URL path used only with preservePath (Traefik v3)', async (t) => {
  const heads: RawReq[] = [];
  const up = await routed(t, heads);
  const gw = await startTestGateway({
    http: {
      routers: { kept: { rule: 'Host(`kept.example`)', service: 'kept' }, dropped: { rule: 'Host(`dropped.example`)', service: 'dropped' } },
      services: {
        kept: { loadBalancer: { servers: [{ url: `${up.url}/base`, preservePath: true }], passHostHeader: false } },
        dropped: { loadBalancer: { servers: [{ url: `${up.url}/base` }], passHostHeader: false } },
      },
    },
  });
  t.teardown(() => gw.close());
  const cases = [
    { host: 'kept.example', path: '/x?y=1', want: '/base/x?y=1' },
    { host: 'kept.example', path: '/', want: '/base/' },
    { host: 'kept.example', path: '/x/', want: '/base/x/' },
    { host: 'dropped.example', path: '/x?y=1', want: '/x?y=1' },
  ];
  for (const c of cases) {
    await ask(t, gw.port, `GET ${c.path} HTTP/1.1\r\nHost: ${c.host}\r\n\r\n`);
    t.equal(heads.at(-1)?.target, c.want, `${c.host}${c.path} → ${c.want}`);
    t.same(heads.at(-1)?.head.split('\r\n').filter((l) => /^host:/i.test(l)), [`host: 127.0.0.1:${up.port}`], `${c.host}${c.path}: one Host, the server URL's host:port`);
  }
});

t.test('request bodies: 100-continue, early upstream answers, client aborts mid-upload', async (t) => {
  const echo = await listen(t, http.createServer((q, s) => {
    const parts: Buffer[] = [];
    q.on('data', (c: Buffer) => parts.push(c)).on('end', () => s.end(`got ${Buffer.concat(parts)}`));
  }));
  const gw = await gateway(t, [echo.url]);
  for (const waitFor100 of [true, false]) {
    const client = await ask(t, gw.port, req('POST', '/up', '1.1', 'Content-Length: 5\r\nExpect: 100-continue\r\n'), []);
    if (waitFor100) t.ok(await until(() => /^HTTP\/1\.1 100 /.test(client.data.toString('latin1'))), 'the 100 Continue comes before the body is sent');
    client.socket.write('hello');
    await until(() => client.responses(['POST']).list.length > 0);
    t.equal(client.data.toString('latin1').match(/HTTP\/1\.1 100 /g)?.length, 1, `waitFor100=${waitFor100}: exactly one 100 Continue`);
    t.same(client.responses(['POST']).list.map((r) => [r.status, r.body]), [[200, 'got hello']], `waitFor100=${waitFor100}: the final response, the body echoed`);
  }

  // The backend answers on the head and stops reading; the client keeps uploading, then asks again on the connection.
  const early = await rawBackend(t, (q, s) => {
    if (q.method === 'GET') return void s.write(OK);
    s.pause();
    if (q.target === '/close') s.end('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 8\r\n\r\ntoo big!');
    else s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly');
  });
  const gw2 = await gateway(t, [early.url]);
  for (const [path, size] of [['/close', 64 << 10], ['/keep', 64 << 10], ['/close', 8 << 20], ['/keep', 8 << 20]] as const) {
    const name = `${path}, ${size >> 10} KiB body`;
    const client = await ask(t, gw2.port, req('POST', path, '1.1', `Content-Length: ${size}\r\n`), []);
    for (let at = 0; at < size; at += 64 << 10) client.socket.write(Buffer.alloc(64 << 10, 'u'));
    await until(() => client.responses(['POST']).list.length > 0 || client.closed);
    t.same(client.responses(['POST']).list.map((r) => r.status), [path === '/close' ? 413 : 200], `${name}: the early answer reaches the client`);
    client.socket.write(req('GET', '/cl'));
    const settled = await until(() => client.responses(['POST', 'GET']).list.length === 2 || client.closed, 5000);
    t.ok(settled, `${name}: the connection answers the next request or closes, it does not hang (${client.responses(['POST', 'GET']).list.length} responses, closed=${client.closed})`);
    t.equal((await ask(t, gw2.port, req('GET', '/cl'))).responses(['GET']).list[0]?.status, 200, `${name}: a new connection is served`);
    client.socket.destroy();
  }

  // A chunked upload the client abandons: the backend, which never answered, sees its connection closed.
  const silent = await rawBackend(t, (q, s) => void (q.method === 'GET' && s.write(OK)));
  const gw3 = await gateway(t, [silent.url]);
  const client = await ask(t, gw3.port, req('POST', '/upload', '1.1', 'Transfer-Encoding: chunked\r\n'), []);
  for (let i = 0; i < 5; i++) { client.socket.write(`400\r\n${'c'.repeat(1024)}\r\n`); await sleep(10); }
  t.ok(await until(() => silent.open() === 1), 'the upload reached the backend');
  client.socket.destroy();
  t.ok(await until(() => silent.open() === 0, 2000), `the backend's connection is closed when the client aborts (${silent.open()} open)`);
  t.equal((await ask(t, gw3.port, req('GET', '/cl'))).responses(['GET']).list[0]?.status, 200, 'the gateway still serves');
});

t.test('POST bodies are never sent twice: a refusing and a dropping server beside a good one', async (t) => {
  const refused = await listen(t, net.createServer());
  await refused.close();
  const got: string[] = [];
  // The dropping server reads the whole request, then closes without answering.
  const server = (answer: boolean) => http.createServer((q, s) => {
    let b = '';
    q.on('data', (c: Buffer) => (b += c)).on('end', () => { got.push(`${answer ? 'good' : 'dropper'} ${q.method} ${b}`); if (answer) s.end('fine'); else q.socket.destroy(); });
  });
  const good = await listen(t, server(true));
  const dropper = await listen(t, server(false));
  for (const [name, bad] of [['refused', refused.url], ['dropping', dropper.url]] as const) {
    const gw = await gateway(t, [bad, good.url]);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${gw.url}/p`, { method: 'POST', body: `${name}-${i}` });
      statuses.push(r.status);
      await r.arrayBuffer();
      const g = await fetch(`${gw.url}/g`);
      t.equal(g.status, 200, `${name}: GET ${i} answered (resent to the good server when needed)`);
      await g.arrayBuffer();
    }
    const posts = got.filter((l) => l.includes(` POST ${name}-`)).map((l) => l.split(' ')[2]);
    t.equal(new Set(posts).size, posts.length, `${name}: no POST body reached a backend twice (${posts.join(', ')})`);
    t.same(statuses.map((s, i) => (s === 200) === got.includes(`good POST ${name}-${i}`)), Array(6).fill(true), `${name}: 200 exactly for the POSTs the good server got (${statuses.join(' ')})`);
    t.ok(statuses.every((s) => s === 200 || s === 502), `${name}: every POST is 200 or 502`);
  }
});

t.test('200 concurrent GETs over 50 connections, responses split into 1-3 writes', async (t) => {
  const bodyFor = (path: string): string => `${path}:`.repeat(1 + (path.length % 7) * 50);
  const up = await rawBackend(t, (q, s) => {
    const body = bodyFor(q.target);
    const bytes = Math.random() < 0.5
      ? `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`
      : `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const cuts = [0, ...Array.from({ length: Math.floor(Math.random() * 3) }, () => Math.floor(Math.random() * bytes.length)).sort((a, b) => a - b), bytes.length];
    void cuts.slice(1).reduce((p, end, i) => p.then(() => { s.write(bytes.slice(cuts[i], end)); return sleep(Math.random() * 3); }), Promise.resolve());
  });
  const gw = await gateway(t, [up.url]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  t.teardown(() => agent.destroy());
  const get = (i: number): Promise<boolean> => new Promise((resolve) => {
    http.get(`${gw.url}/r${i}`, { agent }, (res) => {
      let b = '';
      res.setEncoding('latin1').on('data', (c: string) => (b += c)).on('end', () => resolve(b === bodyFor(`/r${i}`)));
    }).on('error', () => resolve(false));
  });
  const ok = await Promise.all(Array.from({ length: 200 }, (_, i) => get(i)));
  t.equal(ok.filter(Boolean).length, 200, 'all 200 bodies correct');
});

t.test('2,000 requests, clients leaving at random points: backend sockets settle to maxIdleConnsPerHost', async (t) => {
  const body = 'z'.repeat(4096);
  const up = await rawBackend(t, (_q, s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 1000)}`);
    setTimeout(() => s.writable && s.write(body.slice(1000)), Math.random() * 4);
  });
  const gw = await gateway(t, [up.url], {}, 4);
  let completed = 0;
  // 20%: leave before sending; 40%: leave 0-5 ms after sending; 20%: after the first bytes; 20%: after the whole body.
  const one = (): Promise<void> => new Promise((resolve) => {
    const mode = Math.random();
    const s = net.connect(gw.port, '127.0.0.1');
    const leave = (): void => void (s.destroy(), resolve());
    let got = 0;
    s.on('error', leave).on('close', leave).on('connect', () => {
      if (mode < 0.2) return leave();
      s.write(req('GET', '/a'));
      if (mode < 0.6) setTimeout(leave, Math.random() * 5);
    }).on('data', (d: Buffer) => {
      got += d.length;
      if (mode >= 0.6 && (mode < 0.8 || got >= body.length)) (completed++, leave());
    });
  });
  await Promise.all(Array.from({ length: 40 }, async () => { for (let i = 0; i < 50; i++) await one(); }));
  t.ok(completed > 100, `${completed} responses read at least in part`);
  t.ok(await until(() => up.open() <= 4, 3000), `backend connections open after the storm: ${up.open()} (≤ 4), ${up.accepted()} accepted`);
  t.equal((await ask(t, gw.port, req('GET', '/a'))).responses(['GET']).list[0]?.body, body, 'the gateway still serves');
});
