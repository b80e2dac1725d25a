import t, { type Test } from 'tap';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { frame } from '../helpers/h2-frames';
import { staticConfigDecoder } from '../../src/config/static';
import type { RouterConfig } from '../../src/dynamic/model';
import type { RequestRecord } from '../../src/server/observer';

/**
 * HTTP/2 to clients (docs/http2.md) with real clients on real sockets:
 * curl over TLS (ALPN h2) and over plaintext with prior knowledge (h2c),
 * and Node's HTTP/2 client over TLS, each through the gateway's one
 * request path to an HTTP/1.1 backend; the HTTP/1.1 fallback on the same
 * TLS port, the advertised SETTINGS, and a stream-reset flood.
 */

interface Answer {
  status: number;
  version: string;
  headers: Record<string, string>;
  body: Buffer;
}

const UPLOAD = Buffer.alloc(1 << 20, 'abcdefghijklmnopqrstuvwxyz0123456789');

function curl(args: string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', ...args], { encoding: 'buffer', maxBuffer: 8 << 20, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${args.join(' ')}: ${err.message} ${stderr.toString()}`));
      const end = stdout.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = stdout.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/([\d.]+) (\d{3})/.exec(statusLine)!;
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ version: m[1], status: Number(m[2]), headers, body: stdout.subarray(end + 4) });
    });
  });
}

function nodeH2(port: number, host: string, path: string, body?: Buffer, extra: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: host });
    session.on('error', reject);
    // No Content-Length on the upload: the body's length is known only at its end, as gRPC streams are.
    const req = session.request({ ':method': body ? 'POST' : 'GET', ':path': path, ':authority': `${host}:${port}`, ...extra }, { endStream: !body });
    if (body) req.end(body);
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader = {};
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(head)) if (!k.startsWith(':')) headers[k] = String(v);
      resolve({ status: Number(head[':status']), version: '2', headers, body: Buffer.concat(chunks) });
    });
  });
}

/**
 * Rapid reset on raw frames (h2c): `count` GET streams, each HEADERS
 * (END_STREAM) followed at once by RST_STREAM(CANCEL), in one write, as
 * the attack sends them. Node's client cannot: it holds streams beyond the
 * server's concurrency limit and drops a cancelled one before its HEADERS.
 */
function resetFlood(port: number, authority: string, count: number): Promise<{ goaway: boolean; errorCode?: number; closed: boolean; readBytes: number }> {
  return new Promise((resolve, reject) => {
    // HPACK: :method GET, :scheme http, :path / (static table 2, 6, 4), then :authority as a literal without indexing.
    const block = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, authority.length]), Buffer.from(authority, 'latin1')]);
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(http2.constants.NGHTTP2_CANCEL);
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) frames.push(frame(0x1, 0x5, 2 * i + 1, block), frame(0x3, 0, 2 * i + 1, cancel));
    const socket = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let readBytes = 0;
    let result: { goaway: boolean; errorCode?: number } = { goaway: false };
    let started = false;
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(0x4, 0, 0, Buffer.alloc(0))])));
    socket.on('data', (d: Buffer) => {
      readBytes += d.length;
      got = Buffer.concat([got, d]);
      while (got.length >= 9) {
        const len = got.readUIntBE(0, 3);
        if (got.length < 9 + len) break;
        const type = got[3];
        const flags = got[4];
        // The server's SETTINGS: acknowledge, then flood.
        if (type === 0x4 && !(flags & 1) && !started) {
          started = true;
          socket.write(Buffer.concat([frame(0x4, 0x1, 0, Buffer.alloc(0)), ...frames]));
        }
        if (type === 0x7) result = { goaway: true, errorCode: got.readUInt32BE(9 + 4) };
        got = got.subarray(9 + len);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...result, closed: true, readBytes });
    });
    socket.on('timeout', reject);
  });
}

/** An h2c GET whose preface arrives in two writes: the connection router must wait for the rest. Resolves the first response HEADERS' first byte. */
function h2cInPieces(port: number, authority: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
    const block = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x01, authority.length]), Buffer.from(authority, 'latin1')]);
    const socket = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error('no response')));
    socket.on('connect', () => {
      socket.write(preface.subarray(0, 7));
      setTimeout(() => socket.write(Buffer.concat([preface.subarray(7), frame(0x4, 0, 0, Buffer.alloc(0)), frame(0x1, 0x5, 1, block)])), 100);
    });
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      while (got.length >= 9 && got.length >= 9 + got.readUIntBE(0, 3)) {
        const len = got.readUIntBE(0, 3);
        if (got[3] === 0x1 && got.readUInt32BE(5) === 1) {
          socket.destroy();
          return resolve(got[9]);
        }
        got = got.subarray(9 + len);
      }
    });
    socket.on('error', reject);
  });
}

t.test('HTTP/2 front end', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portier-h2-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const uploadFile = join(dir, 'upload.bin');
  writeFileSync(uploadFile, UPLOAD);
  const echo = await startEchoBackend('h2-app', (req, res, body) => {
    if (req.url !== '/upload') return false;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  });
  t.teardown(() => echo.close());
  const services = { app: { loadBalancer: { servers: [{ url: echo.url }] } }, dead: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } };
  const routers: Record<string, RouterConfig> = {};
  const records: RequestRecord[] = [];
  // Each router twice: TLS connections reach only TLS routers, plaintext ones (h2c) only the others.
  for (const tls of [false, true]) {
    const s = tls ? '-tls' : '';
    const on = tls ? { tls: {} } : {};
    routers[`plain${s}`] = { rule: 'Host(`app.test`)', service: 'app', ...on };
    routers[`mw${s}`] = { rule: 'Host(`mw.test`)', service: 'app', middlewares: ['hdr'], ...on };
    routers[`dead${s}`] = { rule: 'Host(`dead.test`)', service: 'dead', ...on };
    routers[`gzip${s}`] = { rule: 'Host(`gzip.test`)', service: 'app', middlewares: ['gz'], ...on };
  }
  const gw = await startTestGateway(
    {
      http: {
        routers,
        middlewares: { gz: { compress: {} }, hdr: { headers: { customResponseHeaders: { 'x-mw': 'yes' }, customRequestHeaders: { 'x-req-mw': 'yes' } } } },
        services,
      },
    },
    { observers: [{ requestEnded: (r) => records.push(r) }], staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', http2: { maxConcurrentStreams: 100 } } } } },
  );
  t.teardown(() => gw.close());
  const port = gw.port;
  t.equal(gw.router('plain')?.plain, true, 'the plain router is the direct path\'s kind');

  const clients: { name: string; scheme: 'https' | 'http'; send(host: string, path: string, body?: boolean): Promise<Answer> }[] = [
    {
      name: 'curl --http2 (TLS, ALPN h2)',
      scheme: 'https',
      send: (host, path, body) =>
        curl(['-k', '--http2', '--resolve', `${host}:${port}:127.0.0.1`, ...(body ? ['--data-binary', `@${uploadFile}`, '-H', 'content-type: application/octet-stream'] : []), `https://${host}:${port}${path}`]),
    },
    {
      name: 'curl --http2-prior-knowledge (h2c)',
      scheme: 'http',
      send: (host, path, body) =>
        curl(['--http2-prior-knowledge', '--resolve', `${host}:${port}:127.0.0.1`, ...(body ? ['--data-binary', `@${uploadFile}`] : []), `http://${host}:${port}${path}`]),
    },
    { name: 'Node http2 client (TLS)', scheme: 'https', send: (host, path, body) => nodeH2(port, host, path, body ? UPLOAD : undefined) },
  ];
  const cases: { name: string; host: string; path: string; body?: boolean; status: number; check?: (t: Test, a: Answer) => void }[] = [
    { name: 'GET, plain router', host: 'app.test', path: '/a?x=1', status: 200 },
    { name: 'GET, headers middleware', host: 'mw.test', path: '/m', status: 200, check: (t, a) => t.equal(a.headers['x-mw'], 'yes', "the middleware's response field arrives") },
    { name: 'POST 1 MiB, echoed', host: 'app.test', path: '/upload', body: true, status: 200, check: (t, a) => t.ok(a.body.equals(UPLOAD), 'the 1 MiB body came back whole') },
    { name: 'unknown host', host: 'nobody.test', path: '/', status: 404 },
    { name: 'dead backend', host: 'dead.test', path: '/', status: 502 },
  ];
  for (const client of clients) {
    for (const c of cases) {
      t.test(`${client.name}: ${c.name}`, async (t) => {
        const seen = echo.requests.length;
        const recorded = records.length;
        const a = await client.send(c.host, c.path, c.body);
        t.equal(a.version, '2', 'HTTP/2');
        t.equal(a.status, c.status, `status ${c.status}`);
        for (const name of ['connection', 'keep-alive', 'transfer-encoding']) t.notOk(name in a.headers, `no ${name} on HTTP/2`);
        c.check?.(t, a);
        await new Promise((r) => setTimeout(r, 20));
        const record = records[recorded];
        t.equal(records.length, recorded + 1, 'one record for the observers');
        t.equal(record?.status, c.status, 'recorded status');
        t.equal(record?.bytesOut, a.body.length, 'recorded body bytes are what the client got');
        t.equal(record?.aborted, false, 'not recorded as aborted');
        t.equal(record?.ex.req.httpVersion, '2.0', 'the access log says HTTP/2.0');
        if (c.status !== 200) return t.equal(echo.requests.length, seen, 'nothing reached the backend');
        t.equal(echo.requests.length, seen + 1, 'the backend got the request');
        const got = echo.requests[seen];
        if (!c.body) t.same(JSON.parse(a.body.toString()).url, c.path, 'the backend got the path');
        t.equal(got.method, c.body ? 'POST' : 'GET');
        t.equal(got.headers.host, `${c.host}:${port}`, ':authority became Host');
        t.same(Object.keys(got.headers).filter((k) => k.startsWith(':')), [], 'no pseudo-header forwarded');
        t.equal(got.headers['x-forwarded-proto'], client.scheme);
        if (c.host === 'mw.test') t.equal(got.headers['x-req-mw'], 'yes', "the middleware's request field went up");
      });
    }
  }

  t.test('h2c: a preface split over two reads is waited for', async (t) => {
    t.equal(await h2cInPieces(port, `app.test:${port}`), 0x88, 'answered :status 200 (HPACK static entry 8)');
  });

  t.test('Host naming another server than :authority is refused (RFC 9113 8.3.1)', async (t) => {
    const seen = echo.requests.length;
    const a = await nodeH2(port, 'app.test', '/', undefined, { host: 'other.test' });
    t.equal(a.status, 400);
    t.equal(echo.requests.length, seen, 'nothing reached the backend');
  });

  t.test('compress over HTTP/2: the body is compressed once, and counted as sent', async (t) => {
    const recorded = records.length;
    const a = await nodeH2(port, 'gzip.test', '/upload', UPLOAD, { 'accept-encoding': 'gzip' });
    t.equal(a.status, 200);
    t.equal(a.headers['content-encoding'], 'gzip');
    t.ok(gunzipSync(a.body).equals(UPLOAD), 'gunzipped, the 1 MiB body');
    await new Promise((r) => setTimeout(r, 20));
    t.equal(records[recorded]?.bytesOut, a.body.length, 'recorded: the compressed bytes');
  });

  t.test('an HTTP/1.1 client on the same TLS port (ALPN fallback, and no ALPN)', async (t) => {
    const a = await curl(['-k', '--http1.1', '--resolve', `app.test:${port}:127.0.0.1`, `https://app.test:${port}/h1`]);
    t.equal(a.version, '1.1');
    t.equal(a.status, 200);
    const status = await new Promise<number>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, servername: 'app.test', headers: { host: 'app.test' }, rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    t.equal(status, 200, "Node's https client (no ALPN) is served HTTP/1.1");
  });

  t.test('SETTINGS: maxConcurrentStreams as configured, 1 MiB windows', async (t) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'app.test' });
    t.teardown(() => session.close());
    const settings = await new Promise<http2.Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    });
    t.equal(settings.maxConcurrentStreams, 100);
    t.equal(settings.initialWindowSize, 1 << 20);
    t.equal(settings.maxHeaderListSize, 16_384, 'http.maxHeaderBytes');
  });

  t.test('a stream-reset flood (CVE-2023-44487) ends that session only; the gateway keeps serving', async (t) => {
    const seen = echo.requests.length;
    const flood = await resetFlood(port, `app.test:${port}`, 2000);
    t.ok(flood.goaway, `GOAWAY from the gateway (error ${flood.errorCode}), after ${flood.readBytes} bytes read`);
    // Portier's own count ends it with ENHANCE_YOUR_CALM; Node 26's HTTP/2 layer may cut the flood first, as INTERNAL_ERROR.
    const codes = [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, ...(Number(process.versions.node.split('.')[0]) >= 26 ? [http2.constants.NGHTTP2_INTERNAL_ERROR] : [])];
    t.ok(codes.includes(flood.errorCode ?? -1), `ENHANCE_YOUR_CALM (or Node's own cut): ${flood.errorCode}`);
    t.ok(flood.closed, 'the connection was closed');
    t.comment(`the backend saw ${echo.requests.length - seen} of 2000 flood requests`);
    const after = await nodeH2(port, 'app.test', '/after');
    t.equal(after.status, 200, 'a new connection is served');
    const h2c = await curl(['--http2-prior-knowledge', '--resolve', `app.test:${port}:127.0.0.1`, `http://app.test:${port}/after-h2c`]);
    t.equal(h2c.status, 200, 'and h2c too');
  });
});

t.test('entryPoints.<n>.http2.maxConcurrentStreams: default 250, refused outside 1..2^31-1', async (t) => {
  const decode = (http2?: object) => staticConfigDecoder({ entryPoints: { web: { address: ':8080', ...(http2 ? { http2 } : {}) } } }, '');
  t.equal(decode().entryPoints.web.http2.maxConcurrentStreams, 250);
  t.equal(decode({ maxConcurrentStreams: 1000 }).entryPoints.web.http2.maxConcurrentStreams, 1000);
  for (const bad of [0, -1, 2 ** 31, 1.5, 'many']) {
    t.throws(() => decode({ maxConcurrentStreams: bad }), { code: 'CONFIG_INVALID', path: 'entryPoints.web.http2.maxConcurrentStreams' }, `${JSON.stringify(bad)} refused`);
  }
});
