import t, { type Test } from 'tap';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { EntryPointServer } from '../../src/server/entrypoint';
import { staticConfigDecoder } from '../../src/config/static';
import { silentLogger } from '../../src/log/logger';
import type { RoutingTable } from '../../src/routing/table';
import { request } from '../helpers/http';
import { sendRaw, startCountingBackend, trickle, type CountingBackend } from './raw-client';

/**
 * Every per-entrypoint limit, configured small so each bound is measured in
 * about a second: header read timeout (slowloris), whole-request timeout,
 * idle keep-alive timeout, header bytes and lines, request body size,
 * connection count, and the upstream response-header and idle timeouts.
 * Node checks the request timeouts every 500 ms (connectionsCheckingInterval),
 * so a bound is the timeout + 500 ms, plus slack for a loaded machine.
 */
const HOST = 'limits.localhost';
const SLACK_MS = 1500;
const CHECK_MS = 500;

let backend: CountingBackend;
let gw: TestGateway;
t.before(async () => {
  backend = await startCountingBackend();
  gw = await startTestGateway(
    {
      http: {
        routers: { pub: { rule: 'PathPrefix(`/public`)', service: 'pub' } },
        services: { pub: { loadBalancer: { servers: [{ url: backend.url }] } } },
      },
    },
    {
      staticConfig: {
        entryPoints: {
          web: {
            address: '127.0.0.1:0',
            transport: { respondingTimeouts: { readHeaderTimeout: '1s', readTimeout: '2s', idleTimeout: '1s' } },
            http: { maxHeaderBytes: 2048, maxHeaderCount: 10, maxRequestBodyBytes: 1000 },
          },
        },
        serversTransport: { forwardingTimeouts: { responseHeaderTimeout: '700ms', idleConnTimeout: '500ms' } },
      },
    },
  );
});
t.teardown(async () => {
  await gw?.close();
  await backend?.close();
});

const tagged = (n: string): string => `GET /public/${n} HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: ${n}\r\n`;
const seen = (n: string): number => backend.seen.filter((s) => s.headers['x-case'] === n).length;

t.test('slow clients are cut within their timeout', async (t) => {
  const cases = [
    { name: 'slowloris: one header byte per second', first: tagged('loris'), drip: 'X-Slow: aaaaaaaa', everyMs: 1000, minMs: 900, maxMs: 1000 + CHECK_MS + SLACK_MS },
    {
      name: 'slow body: headers done, one body byte per 300 ms',
      first: `POST /public/slowbody HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: slowbody\r\nContent-Length: 100\r\n\r\n`,
      drip: 'b',
      everyMs: 300,
      minMs: 1900,
      maxMs: 2000 + CHECK_MS + SLACK_MS,
    },
  ];
  for (const c of cases) {
    const r = await trickle(gw.port, c.first, c.drip, c.everyMs, 10_000);
    t.ok(r.closedAfterMs !== null, `${c.name}: the gateway closed the connection`);
    t.ok((r.closedAfterMs ?? Infinity) <= c.maxMs, `${c.name}: closed after ${r.closedAfterMs} ms (bound ${c.maxMs} ms)`);
    t.ok((r.closedAfterMs ?? 0) >= c.minMs, `${c.name}: not before the timeout (${r.closedAfterMs} ms)`);
    t.ok(r.statuses.length === 0 || (r.statuses.length === 1 && r.statuses[0] === 408), `${c.name}: 408 or a bare close (${r.statuses})`);
  }
  t.equal(seen('loris'), 0, 'the slowloris request never reached the backend');
  t.equal(backend.seen.filter((s) => s.headers['x-case'] === 'slowbody' && s.complete).length, 0, 'the slow body never completed at the backend');
});

t.test('a connection that never sends a byte is closed within readHeaderTimeout, on HTTP and TLS', async (t) => {
  const cfg = staticConfigDecoder({ entryPoints: { ep: { address: '127.0.0.1:0', transport: { respondingTimeouts: { readHeaderTimeout: '1s' } } } } }, '').entryPoints.ep;
  const table = (): RoutingTable => {
    throw new Error('a silent client is never routed');
  };
  // No certificate is needed: a silent client never reaches the handshake.
  for (const [name, tls] of [['http', undefined], ['https', {}]] as const) {
    const ep = new EntryPointServer({ name, cfg, table, log: silentLogger, observers: [], preRouting: [], tls });
    const { port } = await ep.listen();
    t.teardown(() => ep.close(0));
    const r = await trickle(port, '', '', 1000, 10_000);
    t.ok(r.closedAfterMs !== null && r.closedAfterMs <= 1000 + CHECK_MS + SLACK_MS, `${name}: closed after ${r.closedAfterMs} ms`);
  }
});

t.test('an idle keep-alive connection is closed after idleTimeout', async (t) => {
  const started = Date.now();
  const r = await sendRaw(gw.port, `${tagged('idle')}\r\n`, { timeoutMs: 10_000, quietMs: 10_000 });
  const elapsed = Date.now() - started;
  t.same(r.statuses, [200], 'answered');
  t.ok(r.closed, 'then closed by the gateway');
  // Node 20 closes an idle keep-alive socket one second after keepAliveTimeout.
  t.ok(elapsed >= 900 && elapsed <= 1000 + 1000 + SLACK_MS, `closed ${elapsed} ms after the request (idleTimeout 1 s)`);
});

t.test('size limits answer before the backend sees anything', async (t) => {
  const body = (n: number): string => 'x'.repeat(n);
  const cases = [
    { name: 'header bytes over maxHeaderBytes 2048', bytes: `${tagged('hbytes')}X-Big: ${body(3000)}\r\n\r\n`, status: '431', reached: 0 },
    { name: 'header lines over maxHeaderCount 10', bytes: `${tagged('hcount')}${Array.from({ length: 9 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`, status: '431', reached: 0 },
    { name: 'header lines at maxHeaderCount 10', bytes: `${tagged('hok')}${Array.from({ length: 7 }, (_, i) => `X-${i}: v\r\n`).join('')}Connection: close\r\n\r\n`, status: '200', reached: 1 },
    {
      name: 'Content-Length over maxRequestBodyBytes 1000',
      bytes: `POST /public/big HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: big\r\nContent-Length: 2000\r\n\r\n${body(2000)}`,
      status: '413',
      reached: 0,
    },
    {
      name: 'Content-Length at maxRequestBodyBytes',
      bytes: `POST /public/fits HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: fits\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n${body(1000)}`,
      status: '200',
      reached: 1,
    },
  ];
  for (const c of cases) {
    const r = await sendRaw(gw.port, c.bytes);
    t.equal(r.statuses.join(','), c.status, `${c.name}: ${c.status}`);
    t.ok(r.closed, `${c.name}: connection closed`);
    t.equal(seen(c.bytes.split('X-Case: ')[1].split('\r\n')[0]), c.reached, `${c.name}: ${c.reached} request(s) at the backend`);
  }
});

t.test('Expect: 100-continue is answered only once the request passed every check', async (t) => {
  const head = (n: string, length: number): string => `POST /public/${n} HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: ${n}\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`;
  const big = await sendRaw(gw.port, head('expect-big', 2000));
  t.same(big.statuses, [413], 'a body over maxRequestBodyBytes: 413, no 100 Continue');
  t.equal(seen('expect-big'), 0, 'the backend saw nothing');
  const bad = await sendRaw(gw.port, head('expect-bad', 10).replace('Host:', 'X_Y: 1\r\nHost: a\r\nHost:'));
  t.same(bad.statuses, [400], 'a rejected head: 400, no 100 Continue');
  const socket = net.connect({ host: '127.0.0.1', port: gw.port });
  t.teardown(() => socket.destroy());
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (received += d));
  socket.write(head('expect-ok', 5));
  const until = async (re: RegExp): Promise<boolean> => {
    for (let i = 0; i < 100 && !re.test(received); i++) await new Promise((r) => setTimeout(r, 20));
    return re.test(received);
  };
  t.ok(await until(/^HTTP\/1\.1 100 Continue\r\n\r\n/), 'a valid request is invited to send its body');
  socket.write('hello');
  t.ok(await until(/HTTP\/1\.1 200 /), 'then answered 200');
  t.equal(backend.seen.find((s) => s.headers['x-case'] === 'expect-ok')?.body, 'hello', 'the backend got the body');
});

t.test('a chunked body growing past maxRequestBodyBytes is cut mid-stream', async (t) => {
  const chunk = `200\r\n${'y'.repeat(0x200)}\r\n`;
  const r = await trickle(gw.port, `POST /public/chunked HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`, chunk, 100, 5000, chunk.length);
  t.ok(r.closedAfterMs !== null && r.closedAfterMs < 2000, `closed after ${r.closedAfterMs} ms, once past 1000 bytes`);
  t.notOk(r.statuses.includes(200), `no success (${r.statuses})`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(backend.seen.filter((s) => s.headers['x-case'] === 'chunked' && s.complete).length, 0, 'no complete request at the backend');
  t.ok(backend.seen.filter((s) => s.headers['x-case'] === 'chunked').every((s) => s.body.length <= 1000), 'the backend got at most the allowed bytes');
});

t.test('upstream timeouts: response headers (504) and idle keep-alive sockets', async (t) => {
  const started = Date.now();
  const slow = await request(`${gw.url}/public/slow`, { host: HOST, headers: { 'x-delay-ms': '3000' } });
  t.equal(slow.status, 504, 'a backend slower than responseHeaderTimeout 700ms gives 504');
  t.ok(Date.now() - started < 700 + SLACK_MS, `after ${Date.now() - started} ms`);
  t.equal((await request(`${gw.url}/public/fresh`, { host: HOST })).status, 200, 'a fast request succeeds');
  const deadline = Date.now() + 500 + SLACK_MS + 1000;
  let open = await backend.connections();
  while (open > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    open = await backend.connections();
  }
  t.equal(open, 0, 'idle upstream sockets are closed after idleConnTimeout 500ms');
});

/**
 * A server whose connect never completes: a stopped process whose accept
 * queue (backlog 1) is full, so the kernel drops further SYNs, as a
 * vanished host would on a real network.
 */
async function blackHole(t: Test): Promise<string> {
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port) })"], { stdio: ['ignore', 'pipe', 'inherit'] });
  const fillers: net.Socket[] = [];
  t.teardown(() => {
    for (const s of fillers) s.destroy();
    child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  process.kill(child.pid!, 'SIGSTOP');
  for (let pending = false; !pending && fillers.length < 10; ) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    fillers.push(s);
    pending = await new Promise<boolean>((resolve) => {
      s.once('connect', () => resolve(false));
      setTimeout(() => resolve(true), 300);
    });
  }
  return `http://127.0.0.1:${port}`;
}

t.test('upstream dial timeout: 504 alone, the next server when there is one', async (t) => {
  const hole = await blackHole(t);
  const dialing = await startTestGateway({
    http: {
      routers: {
        hole: { rule: 'Host(`hole.localhost`)', service: 'hole' },
        mixed: { rule: 'Host(`mixed.localhost`)', service: 'mixed' },
      },
      services: {
        hole: { loadBalancer: { servers: [{ url: hole }], serversTransport: 'quickdial' } },
        mixed: { loadBalancer: { servers: [{ url: hole }, { url: backend.url }], serversTransport: 'quickdial' } },
      },
      serversTransports: { quickdial: { forwardingTimeouts: { dialTimeout: '500ms' } } },
    },
  });
  t.teardown(() => dialing.close());
  const cases = [
    { host: 'hole.localhost', status: 504, maxMs: 500 + SLACK_MS },
    { host: 'mixed.localhost', status: 200, maxMs: 500 + SLACK_MS },
    { host: 'mixed.localhost', status: 200, maxMs: 500 + SLACK_MS },
  ];
  for (const c of cases) {
    const started = Date.now();
    const r = await request(`${dialing.url}/public/dial`, { host: c.host });
    const elapsed = Date.now() - started;
    t.equal(r.status, c.status, `${c.host}: ${c.status}`);
    t.ok(elapsed < c.maxMs, `${c.host}: answered after ${elapsed} ms (dialTimeout 500ms)`);
  }
});

t.test('maxConnections: connections beyond it are closed at once; a freed slot is reused', async (t) => {
  const capped = await startTestGateway(
    { http: { routers: { pub: { rule: 'PathPrefix(`/public`)', service: 'pub' } }, services: { pub: { loadBalancer: { servers: [{ url: backend.url }] } } } } },
    { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport: { maxConnections: 2 } } } } },
  );
  const held: net.Socket[] = [];
  t.teardown(async () => {
    for (const s of held) s.destroy();
    await capped.close();
  });
  for (let i = 0; i < 2; i++) {
    const s = net.connect({ host: '127.0.0.1', port: capped.port });
    await new Promise((resolve) => s.once('connect', resolve));
    held.push(s);
  }
  // Let the server count both before the third arrives.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const third = await sendRaw(capped.port, `GET /public/third HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: third\r\n\r\n`, { timeoutMs: 3000 });
  t.ok(third.closed && third.statuses.length === 0, 'the third connection is closed without an answer');
  t.equal(seen('third'), 0, 'and never reaches the backend');
  held.pop()!.destroy();
  let answered = false;
  for (let i = 0; i < 40 && !answered; i++) {
    const r = await sendRaw(capped.port, `GET /public/later HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, { timeoutMs: 3000 });
    answered = r.statuses[0] === 200;
    if (!answered) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(answered, 'a new connection is served once one closed');
});

t.test('keepAliveMaxRequests: the last allowed response says Connection: close and the connection ends', async (t) => {
  const capped = await startTestGateway(
    { http: { routers: { pub: { rule: 'PathPrefix(`/public`)', service: 'pub' } }, services: { pub: { loadBalancer: { servers: [{ url: backend.url }] } } } } },
    { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport: { keepAliveMaxRequests: 2 } } } } },
  );
  t.teardown(() => capped.close());
  const one = `GET /public/max HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  const r = await sendRaw(capped.port, one + one, { timeoutMs: 5000, quietMs: 3000 });
  t.same(r.statuses, [200, 200], 'both requests answered');
  t.same(r.raw.match(/^connection: .*$/gim)?.map((h) => h.toLowerCase().trim()), ['connection: keep-alive', 'connection: close'], 'the second response closes');
  t.ok(r.closed, 'the gateway closed the connection');
});

t.test('readTimeout below the default readHeaderTimeout starts and bounds headers too', async (t) => {
  const quick = await startTestGateway({}, { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport: { respondingTimeouts: { readTimeout: '700ms' } } } } } });
  t.teardown(() => quick.close());
  const r = await trickle(quick.port, `GET / HTTP/1.1\r\n`, 'X-Slow: aaaa', 300, 10_000);
  t.ok(r.closedAfterMs !== null && r.closedAfterMs <= 700 + CHECK_MS + SLACK_MS, `slow headers cut after ${r.closedAfterMs} ms`);
});
