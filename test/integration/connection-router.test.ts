import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { startEchoBackend, EchoBackend } from '../helpers/echo';
import { RawConn } from '../helpers/raw-conn';
import { handshake } from '../helpers/tls-clients';
import { sendRaw } from '../hostile/raw-client';
import { Gateway } from '../../src/server/gateway';
import { StaticProvider } from '../../src/static-provider';
import { staticConfigDecoder } from '../../src/config/static';
import { silentLogger } from '../../src/log/logger';
import { middlewareTypes } from '../../middlewares/index';
import { routerView } from '../../src/api/views';

/**
 * Every entrypoint routes connections: a PROXY header from a trusted peer,
 * then TLS (ended here, whichever entrypoint) or plaintext, each reaching
 * only the routers of its kind. Real sockets, real TLS, a real backend.
 */
const HEADER_TIMEOUT_MS = 1000;
const SLACK_MS = 1500;
const MAX_HEAD = 1024;

let echo: EchoBackend;
let gw: TestGateway;
t.before(async () => {
  echo = await startEchoBackend('routed');
  const timeouts = { respondingTimeouts: { readHeaderTimeout: '1s' } };
  gw = await startTestGateway(
    {
      http: {
        routers: {
          plain: { rule: 'Host(`plain.test`)', service: 'echo' },
          secure: { rule: 'Host(`secure.test`)', service: 'echo', tls: {} },
        },
        services: { echo: { loadBalancer: { servers: [{ url: echo.url }] } } },
      },
    },
    {
      staticConfig: {
        entryPoints: {
          web: { address: '127.0.0.1:0', proxyProtocol: { trustedIPs: ['127.0.0.0/8'] }, transport: timeouts, http: { maxHeaderBytes: MAX_HEAD } },
          strict: { address: '127.0.0.1:0', proxyProtocol: { trustedIPs: ['10.0.0.0/8'] }, transport: timeouts },
        },
      },
    },
  );
});
t.teardown(async () => {
  await gw?.close();
  await echo?.close();
});

/** One GET over `socket` (plaintext or TLS), read as raw bytes until the response is complete. */
async function getOver(socket: net.Socket, host: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const body = method === 'POST' ? 'x' : '';
  socket.write(`${method} /where HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n${body}`);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const raw = Buffer.concat(chunks).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  return { status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
}

/** A connection to `port` that first writes `preface` (a PROXY header), then speaks TLS or plaintext. */
async function connect(port: number, opts: { preface?: Buffer; tls?: string }): Promise<net.Socket> {
  const raw = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
  if (opts.preface) raw.write(opts.preface);
  if (opts.tls === undefined) return raw;
  const secure = tls.connect({ socket: raw, servername: opts.tls, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  return secure;
}

const v1 = Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n');
const v2 = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0, 12, 198, 51, 100, 9, 127, 0, 0, 1, 0x9c, 0x41, 0, 80]);

t.test('TLS and plaintext on one entrypoint without http.tls, each reaching its own routers', async (t) => {
  const cases = [
    { name: 'plaintext, plain router', tls: undefined, host: 'plain.test', status: 200, proto: 'http' },
    { name: 'plaintext, TLS router', tls: undefined, host: 'secure.test', status: 404 },
    { name: 'TLS, TLS router', tls: 'secure.test', host: 'secure.test', status: 200, proto: 'https' },
    { name: 'TLS, TLS router, handed to Node (a body)', tls: 'secure.test', host: 'secure.test', method: 'POST', status: 200, proto: 'https' },
    { name: 'TLS, plain router', tls: 'plain.test', host: 'plain.test', status: 404 },
  ];
  for (const c of cases) {
    const r = await getOver(await connect(gw.port, { tls: c.tls }), c.host, c.method);
    t.equal(r.status, c.status, c.name);
    if (c.proto) t.equal(JSON.parse(r.body).headers['x-forwarded-proto'], c.proto, `${c.name}: X-Forwarded-Proto`);
  }
  t.equal(gw.router('secure')?.status, 'enabled', 'the TLS router is enabled: it is served');
});

t.test('PROXY protocol: believed from trusted peers only', async (t) => {
  const strict = gw.gateway.port('strict');
  const cases = [
    { name: 'v1, trusted, plaintext', port: gw.port, preface: v1, client: '203.0.113.7' },
    { name: 'v2, trusted, plaintext', port: gw.port, preface: v2, client: '198.51.100.9' },
    { name: 'v1, trusted, then TLS', port: gw.port, preface: v1, tls: 'secure.test', client: '203.0.113.7' },
    { name: 'v2, trusted, then TLS', port: gw.port, preface: v2, tls: 'secure.test', client: '198.51.100.9' },
    { name: 'no header from a trusted peer', port: gw.port, client: '127.0.0.1' },
    { name: 'no header from an untrusted peer', port: strict, client: '127.0.0.1' },
  ];
  for (const c of cases) {
    const r = await getOver(await connect(c.port, { preface: c.preface, tls: c.tls }), c.tls ?? 'plain.test');
    t.equal(r.status, 200, c.name);
    const seen = JSON.parse(r.body).headers;
    t.equal(seen['x-forwarded-for'], c.client, `${c.name}: X-Forwarded-For`);
    t.equal(seen['x-real-ip'], c.client, `${c.name}: X-Real-Ip`);
  }
});

t.test('bad prefaces close the connection before anything reaches a backend', async (t) => {
  const before = echo.requests.length;
  const hello = await clientHello();
  const cases = [
    { name: 'PROXY v1 from an untrusted peer', port: gw.gateway.port('strict'), bytes: Buffer.concat([v1, Buffer.from('GET / HTTP/1.1\r\nHost: plain.test\r\n\r\n')]) },
    { name: 'PROXY v2 from an untrusted peer', port: gw.gateway.port('strict'), bytes: Buffer.concat([v2, Buffer.from('GET / HTTP/1.1\r\nHost: plain.test\r\n\r\n')]) },
    { name: 'malformed PROXY v1', port: gw.port, bytes: Buffer.from('PROXY TCP4 nowhere\r\nGET / HTTP/1.1\r\nHost: plain.test\r\n\r\n') },
    { name: 'oversized PROXY v2', port: gw.port, bytes: Buffer.concat([v2.subarray(0, 14), Buffer.from([0xff, 0xff]), Buffer.alloc(200)]) },
    { name: 'a record that is not a ClientHello', port: gw.port, bytes: Buffer.concat([hello.subarray(0, 5), Buffer.from([2]), hello.subarray(6)]) },
  ];
  for (const c of cases) {
    const r = await sendRaw(c.port, c.bytes, { timeoutMs: 3000 });
    t.ok(r.closed, `${c.name}: closed`);
    t.equal(r.raw, '', `${c.name}: not a byte answered`);
  }
  t.equal(echo.requests.length, before, 'no request reached the backend');
});

t.test('garbage before a ClientHello is a plaintext request: 400', async (t) => {
  const hello = await clientHello();
  const r = await sendRaw(gw.port, Buffer.concat([Buffer.from('hello\r\n'), hello]));
  t.same(r.statuses, [400]);
});

t.test('a truncated ClientHello and an unfinished handshake are cut at the header read timeout', async (t) => {
  const hello = await clientHello();
  const cases = [
    { name: 'half a ClientHello', bytes: hello.subarray(0, 40) },
    { name: 'a whole ClientHello, never a second flight', bytes: hello },
    { name: 'nothing at all', bytes: Buffer.alloc(0) },
  ];
  for (const c of cases) {
    const started = Date.now();
    const r = await sendRaw(gw.port, c.bytes, { timeoutMs: HEADER_TIMEOUT_MS + SLACK_MS + 2000, quietMs: 60_000 });
    const took = Date.now() - started;
    t.ok(r.closed, `${c.name}: closed`);
    t.ok(took >= HEADER_TIMEOUT_MS - 100 && took <= HEADER_TIMEOUT_MS + SLACK_MS, `${c.name}: after ${took} ms`);
  }
});

t.test('an SNI without a certificate gets the default certificate, as in Traefik', async (t) => {
  const cases = [
    { name: 'unknown name', sni: 'nocert.test' },
    { name: 'no SNI', sni: undefined },
  ];
  for (const c of cases) {
    const h = await handshake(gw.port, c.sni);
    t.ok(h.ok, `${c.name}: handshake`);
    t.match(h.cert?.subject ?? '', /CN=PORTIER DEFAULT CERT/, `${c.name}: default certificate`);
  }
});

t.test('the head size limit is the same on the direct path and Node\'s', async (t) => {
  // Request line, Host, X-Pad and the blank line come to exactly `size` bytes.
  const head = (method: string, size: number, extra = ''): string => {
    const start = `${method} /where HTTP/1.1\r\nHost: plain.test\r\n${extra}`;
    const pad = size - start.length - 'X-Pad: \r\n\r\n'.length;
    return `${start}X-Pad: ${'a'.repeat(pad)}\r\n\r\n`;
  };
  const cases = [
    { name: 'GET (direct path) at the limit', bytes: head('GET', MAX_HEAD), status: 200 },
    { name: 'GET one byte over', bytes: head('GET', MAX_HEAD + 1), status: 431 },
    { name: 'POST (Node\'s parser) at the limit', bytes: head('POST', MAX_HEAD, 'Content-Length: 0\r\n'), status: 200 },
    { name: 'POST one byte over', bytes: head('POST', MAX_HEAD + 1, 'Content-Length: 0\r\n'), status: 431 },
  ];
  for (const c of cases) {
    t.equal(Buffer.byteLength(c.bytes) - (c.status === 431 ? 1 : 0), MAX_HEAD, `${c.name}: head size`);
    const conn = await RawConn.open(gw.port);
    conn.write(c.bytes);
    t.equal((await conn.response()).status, c.status, c.name);
    conn.destroy();
  }
});

t.test('a TLS router that no entrypoint can end TLS for is an error, not enabled', async (t) => {
  const config = staticConfigDecoder({ entryPoints: { web: { address: '127.0.0.1:0' } } }, '');
  const provider = new StaticProvider('file', {
    http: {
      routers: { secure: { rule: 'Host(`secure.test`)', service: 'echo', tls: {} } },
      services: { echo: { loadBalancer: { servers: [{ url: echo.url }] } } },
    },
  });
  // No TLS options: this gateway cannot end TLS anywhere.
  const bare = new Gateway({ config, providers: [provider], middlewareTypes, log: silentLogger });
  await bare.start();
  bare.flush();
  t.teardown(() => bare.close(0));
  const view = routerView(bare.table.routers.get('secure@file')!) as { status: string; error?: string[] };
  t.equal(view.status, 'disabled');
  t.same(view.error, ['tls: entrypoint(s) web cannot end TLS, so this router is not served there']);
  const h = await handshake(bare.port('web'), 'secure.test');
  t.notOk(h.ok, 'a ClientHello there is a closed connection');
});

t.test('a drain says Connection: close on responses already under way, on both front ends', async (t) => {
  const slow = await startEchoBackend('slow', (_req, res) => {
    setTimeout(() => res.end('late'), 400);
    return true;
  });
  t.teardown(() => slow.close());
  const cases = [
    { name: 'GET (direct path)', request: 'GET / HTTP/1.1\r\nHost: slow.test\r\n\r\n' },
    { name: 'POST (Node\'s parser)', request: 'POST / HTTP/1.1\r\nHost: slow.test\r\nContent-Length: 1\r\n\r\nx' },
  ];
  for (const c of cases) {
    const g = await startTestGateway({
      http: {
        routers: { slow: { rule: 'Host(`slow.test`)', service: 'slow' } },
        services: { slow: { loadBalancer: { servers: [{ url: slow.url }] } } },
      },
    });
    const conn = await RawConn.open(g.port);
    conn.write(c.request);
    await new Promise((r) => setTimeout(r, 150));
    const closing = g.close();
    const res = await conn.response();
    t.equal(res.status, 200, `${c.name}: answered during the drain`);
    t.equal(res.headers.connection, 'close', `${c.name}: Connection: close`);
    await conn.waitClosed(2000);
    await closing;
  }
});

/** A real client's ClientHello, captured by a listener that never answers it. */
async function clientHello(): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername: 'secure.test' });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}
