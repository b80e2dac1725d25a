import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { startGrpcBackend, echoClient, unary, GrpcBackend, Msg } from '../helpers/grpc';
import { deadPort } from '../helpers/dead-peers';
import { LocalCa } from '../../src/tls/local-ca';

/**
 * gRPC end to end (docs/grpc.md): a real @grpc/grpc-js client, through the
 * gateway, to a real @grpc/grpc-js server spoken to in h2c. The client
 * comes in h2c with prior knowledge and over TLS (ALPN h2, a certificate
 * of a local CA the client trusts).
 */

type Client = ReturnType<typeof echoClient>;

function collect(call: grpc.ClientReadableStream<Msg>): Promise<{ messages: Msg[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: Msg[] = [];
    call.on('data', (m: Msg) => messages.push(m));
    call.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    call.on('end', () => resolve({ messages }));
  });
}

/** A gRPC request on a raw HTTP/2 stream (no client-side deadline): what the gateway itself answers. */
function rawCall(port: number, authority: string, headers: http2.OutgoingHttpHeaders, message: Buffer): Promise<{ headers: Record<string, unknown>; trailers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(message.length, 1);
    const req = session.request({ ':method': 'POST', ':path': '/portier.test.Echo/Unary', ':authority': authority, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    req.end(Buffer.concat([frame, message]));
    let head: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    req.on('response', (h) => (head = { ...h }));
    req.on('trailers', (h) => (trailers = { ...h }));
    req.on('error', reject);
    req.resume();
    req.on('close', () => {
      session.close();
      resolve({ headers: head, trailers });
    });
  });
}

/** Msg{text, delay_ms} in protobuf: field 1 (string), field 6 (varint). */
function slowMsg(text: string, delayMs: number): Buffer {
  const varint: number[] = [];
  for (let v = delayMs; ; v >>>= 7) {
    if (v < 0x80) {
      varint.push(v);
      break;
    }
    varint.push((v & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, text.length]), Buffer.from(text), Buffer.from([0x30, ...varint])]);
}

let backend: GrpcBackend;
let gw: TestGateway;
let dir: string;
let ca: LocalCa;
/** The server URL of the `gone` service: a port nothing listens on. */
let goneUrl: string;

t.before(async () => {
  backend = await startGrpcBackend();
  dir = mkdtempSync(join(tmpdir(), 'portier-grpc-'));
  ca = new LocalCa({ dataDir: dir });
  const leaf = ca.issue('grpc.localhost');
  writeFileSync(join(dir, 'leaf.crt'), leaf.certPem);
  writeFileSync(join(dir, 'leaf.key'), leaf.keyPem);
  goneUrl = `h2c://127.0.0.1:${await deadPort()}`;
  gw = await startTestGateway({
    http: {
      routers: {
        plain: { rule: 'Host(`grpc.localhost`)', service: 'echo' },
        secure: { rule: 'Host(`grpc.localhost`)', service: 'echo', tls: {} },
        gone: { rule: 'Host(`gone.localhost`)', service: 'gone' },
      },
      services: {
        echo: { loadBalancer: { servers: [{ url: backend.url }] } },
        gone: { loadBalancer: { servers: [{ url: goneUrl }] } },
      },
    },
    tls: { certificates: [{ certFile: join(dir, 'leaf.crt'), keyFile: join(dir, 'leaf.key') }] },
  });
});

t.teardown(async () => {
  await gw?.close();
  await backend?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const clients: { name: string; make: () => Client }[] = [
  { name: 'h2c (prior knowledge)', make: () => echoClient(`127.0.0.1:${gw.port}`, { host: 'grpc.localhost' }) },
  { name: 'TLS (ALPN h2)', make: () => echoClient(`127.0.0.1:${gw.port}`, { host: 'grpc.localhost', ca: ca.rootPem() }) },
];

for (const c of clients) {
  t.test(`the four call kinds, ${c.name}`, async (t) => {
    const client = c.make();
    t.teardown(() => client.close());

    const u = await unary(client, { text: 'hello' });
    t.equal(u.reply?.text, 'hello', 'unary: the reply');
    t.equal(u.reply?.authority, 'grpc.localhost', 'unary: :authority passed on');
    t.equal(u.trailers?.get('x-trailer')[0], 'from-backend', "unary: the backend's trailers reach the client");

    const s = await collect(client.ServerStream({ count: 50, size: 1000 }));
    t.notOk(s.error, 'server-streaming: no error');
    t.equal(s.messages.length, 50, 'server-streaming: every message');

    const cs = await new Promise<Msg>((resolve, reject) => {
      const call = client.ClientStream((err: grpc.ServiceError | null, reply: Msg) => (err ? reject(err) : resolve(reply)));
      for (let i = 0; i < 20; i++) call.write({ data: Buffer.alloc(10_000, i) });
      call.end();
    });
    t.same({ count: cs.count, size: cs.size }, { count: 20, size: 200_000 }, 'client-streaming: all 20 messages arrived');

    const bidi = client.Bidi();
    const echoes: string[] = [];
    for (let i = 0; i < 5; i++) {
      bidi.write({ text: String(i) });
      // One at a time: each echo comes back before the next message goes, so the stream is really both ways.
      echoes.push(await new Promise<string>((resolve) => bidi.once('data', (m: Msg) => resolve(m.text!))));
    }
    bidi.end();
    await new Promise((resolve) => bidi.on('end', resolve).resume());
    t.same(echoes, ['echo 0', 'echo 1', 'echo 2', 'echo 3', 'echo 4'], 'bidi: each message echoed in turn');

    const e = await unary(client, { text: 'bad', code: grpc.status.NOT_FOUND });
    t.equal(e.error?.code, grpc.status.NOT_FOUND, 'an error status reaches the client');
    t.equal(e.error?.details, 'failed: bad', 'with its message');
  });
}

t.test('failures as gRPC statuses', async (t) => {
  const client = clients[0].make();
  const gone = echoClient(`127.0.0.1:${gw.port}`, { host: 'gone.localhost' });
  t.teardown(() => {
    client.close();
    gone.close();
  });
  const late = await unary(client, { text: 'slow', delay_ms: 5000 }, 300);
  t.equal(late.error?.code, grpc.status.DEADLINE_EXCEEDED, "a client's deadline: DEADLINE_EXCEEDED");

  const down = await unary(gone, { text: 'x' });
  t.equal(down.error?.code, grpc.status.UNAVAILABLE, 'an unreachable backend: UNAVAILABLE');
  t.equal(gw.gateway.table.services.get('gone@file')?.serverStatus()[goneUrl], 'DOWN', 'and passively ejected, as an HTTP/1.1 server would be');

  const raw = await rawCall(gw.port, 'gone.localhost', {}, slowMsg('x', 0));
  t.equal(raw.headers[':status'], 200, 'answered HTTP 200, not 502');
  t.equal(raw.headers['grpc-status'], '14', 'grpc-status 14 in a trailers-only response');

  const started = Date.now();
  const bounded = await rawCall(gw.port, 'grpc.localhost', { 'grpc-timeout': '300m' }, slowMsg('slow', 5000));
  t.equal(bounded.headers[':status'], 200, 'grpc-timeout passed: HTTP 200');
  t.equal(bounded.headers['grpc-status'], '4', 'grpc-timeout passed: the gateway answers DEADLINE_EXCEEDED itself');
  t.ok(Date.now() - started < 4000, 'without waiting for the backend');
});

t.test('a backend that dies mid-stream', async (t) => {
  const doomed = await startGrpcBackend();
  t.teardown(() => doomed.stop());
  await gw.update({
    http: {
      routers: { doomed: { rule: 'Host(`doomed.localhost`)', service: 'doomed' }, plain: { rule: 'Host(`grpc.localhost`)', service: 'echo' } },
      services: { doomed: { loadBalancer: { servers: [{ url: doomed.url }] } }, echo: { loadBalancer: { servers: [{ url: backend.url }] } } },
    },
  });
  const client = echoClient(`127.0.0.1:${gw.port}`, { host: 'doomed.localhost' });
  t.teardown(() => client.close());
  const r = await collect(client.ServerStream({ text: 'die', count: 200, size: 1000 }));
  t.ok(r.error, 'the client sees the stream fail');
  t.ok([grpc.status.UNAVAILABLE, grpc.status.INTERNAL].includes(r.error!.code), `as UNAVAILABLE or INTERNAL (got ${r.error?.code} ${r.error?.details})`);
  const other = echoClient(`127.0.0.1:${gw.port}`, { host: 'grpc.localhost' });
  t.teardown(() => other.close());
  t.equal((await unary(other, { text: 'still here' })).reply?.text, 'still here', 'the gateway keeps serving');
});

t.test('a large stream to a slow reader: backpressure reaches the backend', async (t) => {
  const client = clients[0].make();
  t.teardown(() => client.close());
  const size = 64 * 1024;
  const count = 768; // 48 MiB
  const sentBefore = backend.stats.bytesSent;
  // What the backend has written that the client has not read: every buffer on the way (the backend's, the
  // gateway's windows and socket buffers, the client's) holds part of it.
  let ahead = 0;
  const call = client.ServerStream({ count, size });
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (m: Msg) => {
      got += m.data!.length;
      ahead = Math.max(ahead, backend.stats.bytesSent - sentBefore - got);
      // A slow reader: a pause after every 64 messages, long enough for every buffer on the way to fill.
      if (got % (64 * size) === 0) {
        call.pause();
        setTimeout(() => {
          ahead = Math.max(ahead, backend.stats.bytesSent - sentBefore - got);
          call.resume();
        }, 300);
      }
    });
    call.on('end', resolve);
    call.on('error', reject);
  });
  await done;
  t.equal(got, size * count, 'every byte arrived');
  t.ok(backend.stats.waitedForDrain > 0, `the backend was made to wait (${backend.stats.waitedForDrain} times)`);
  t.ok(ahead < 12 * 1024 * 1024, `bounded: at most ${(ahead / 1024 / 1024).toFixed(1)} MiB in flight of 48 MiB streamed`);
});

t.test('health checks in gRPC mode follow grpc.health.v1 SERVING', async (t) => {
  const checked = await startGrpcBackend();
  t.teardown(() => checked.stop());
  await gw.update({
    http: {
      routers: { hc: { rule: 'Host(`hc.localhost`)', service: 'hc' } },
      services: { hc: { loadBalancer: { servers: [{ url: checked.url }], healthCheck: { path: '/', mode: 'grpc', interval: '100ms', timeout: '2s' } } } },
    },
  });
  const status = (): string | undefined => gw.gateway.table.services.get('hc@file')?.serverStatus()[checked.url];
  const until = async (want: string): Promise<boolean> => {
    for (let i = 0; i < 100 && status() !== want; i++) await new Promise((r) => setTimeout(r, 50));
    return status() === want;
  };
  const steps: { health: 'SERVING' | 'NOT_SERVING'; want: string }[] = [
    { health: 'SERVING', want: 'UP' },
    { health: 'NOT_SERVING', want: 'DOWN' },
    { health: 'SERVING', want: 'UP' },
  ];
  for (const s of steps) {
    checked.health.status = s.health;
    t.ok(await until(s.want), `${s.health}: the server is ${s.want}`);
  }
});
