import t from 'tap';
import http from 'node:http';
import http2 from 'node:http2';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { startGrpcBackend, GrpcBackend } from '../helpers/grpc';

/**
 * The grpcWeb middleware with the requests a browser's gRPC-Web client
 * sends (binary and base64 text, over HTTP/1.1 and HTTP/2), to a real
 * @grpc/grpc-js server in h2c: the answer's messages, then its trailers
 * as the body's last frame; CORS preflights for the allowed origins.
 */

const APP = 'http://app.localhost:3000';

/** Msg{text} (field 1) as one gRPC message frame. */
function call(text: string, code = 0): Buffer {
  const msg = Buffer.concat([Buffer.from([0x0a, text.length]), Buffer.from(text), code ? Buffer.from([0x28, code]) : Buffer.alloc(0)]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** gRPC-Web frames: data frames' payloads, and the trailer frame's fields. */
function frames(body: Buffer): { messages: Buffer[]; trailers: Record<string, string> } {
  const messages: Buffer[] = [];
  const trailers: Record<string, string> = {};
  for (let i = 0; i + 5 <= body.length; ) {
    const len = body.readUInt32BE(i + 1);
    const payload = body.subarray(i + 5, i + 5 + len);
    if (body[i] & 0x80) {
      for (const line of payload.toString('latin1').split('\r\n').filter(Boolean)) {
        const at = line.indexOf(':');
        trailers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
    } else messages.push(payload);
    i += 5 + len;
  }
  return { messages, trailers };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function h1(port: number, method: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: '/portier.test.Echo/Unary', headers: { host: 'web.localhost', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function h2(port: number, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': '/portier.test.Echo/Unary', ':authority': 'web.localhost', ...headers });
    req.end(body);
    let head: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) });
    });
  });
}

let backend: GrpcBackend;
let gw: TestGateway;

t.before(async () => {
  backend = await startGrpcBackend();
  gw = await startTestGateway({
    http: {
      routers: { web: { rule: 'Host(`web.localhost`)', service: 'grpc', middlewares: ['web'] } },
      services: { grpc: { loadBalancer: { servers: [{ url: backend.url }] } } },
      middlewares: { web: { grpcWeb: { allowOrigins: [APP] } } },
    },
  });
});

t.teardown(async () => {
  await gw?.close();
  await backend?.stop();
});

const cases: { name: string; send: () => Promise<Answer>; text?: boolean; type: string; cors?: boolean }[] = [
  { name: 'binary over HTTP/1.1', type: 'application/grpc-web+proto', send: () => h1(gw.port, 'POST', { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', origin: APP }, call('hello')), cors: true },
  { name: 'binary, no subtype', type: 'application/grpc-web', send: () => h1(gw.port, 'POST', { 'content-type': 'application/grpc-web', 'x-grpc-web': '1' }, call('hello')) },
  {
    name: 'base64 text over HTTP/1.1',
    type: 'application/grpc-web-text',
    text: true,
    cors: true,
    send: () => h1(gw.port, 'POST', { 'content-type': 'application/grpc-web-text', 'x-grpc-web': '1', origin: APP }, Buffer.from(call('hello').toString('base64'))),
  },
  { name: 'binary over HTTP/2', type: 'application/grpc-web+proto', cors: true, send: () => h2(gw.port, { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', origin: APP }, call('hello')) },
];

for (const c of cases) {
  t.test(`a unary call, ${c.name}`, async (t) => {
    const r = await c.send();
    t.equal(r.status, 200, 'HTTP 200');
    t.equal(r.headers['content-type'], c.type, 'the content type the client sent');
    const body = c.text ? Buffer.from(r.body.toString('latin1'), 'base64') : r.body;
    const { messages, trailers } = frames(body);
    t.equal(messages.length, 1, 'one message');
    t.match(messages[0]?.toString('latin1'), /hello/, 'the reply');
    t.equal(trailers['grpc-status'], '0', 'grpc-status in the trailer frame');
    t.equal(trailers['x-trailer'], 'from-backend', "the backend's trailers in the trailer frame");
    t.equal(r.headers['access-control-allow-origin'], c.cors ? APP : undefined, 'CORS: the allowed origin, when the call had an Origin');
  });
}

t.test('an error status', async (t) => {
  const r = await h1(gw.port, 'POST', { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1' }, call('bad', 5));
  const status = r.headers['grpc-status'] ?? frames(r.body).trailers['grpc-status'];
  t.equal(status, '5', 'grpc-status NOT_FOUND');
  // grpc-message is percent-encoded (grpc-js encodes the space).
  t.equal(decodeURIComponent(String(r.headers['grpc-message'] ?? frames(r.body).trailers['grpc-message'])), 'failed: bad', 'and its message');
});

t.test('CORS', async (t) => {
  const ask = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent' };
  const cases: { name: string; method: string; headers: Record<string, string>; status: number; allowOrigin?: string }[] = [
    { name: 'a preflight from an allowed origin', method: 'OPTIONS', headers: { origin: APP, ...ask }, status: 204, allowOrigin: APP },
    { name: 'a preflight from another origin', method: 'OPTIONS', headers: { origin: 'http://evil.localhost', ...ask }, status: 403 },
    { name: 'a call from another origin', method: 'POST', headers: { origin: 'http://evil.localhost', 'content-type': 'application/grpc-web+proto' }, status: 403 },
  ];
  for (const c of cases) {
    const r = await h1(gw.port, c.method, c.headers, c.method === 'POST' ? call('x') : undefined);
    t.equal(r.status, c.status, `${c.name}: ${c.status}`);
    t.equal(r.headers['access-control-allow-origin'], c.allowOrigin, `${c.name}: Access-Control-Allow-Origin`);
    if (c.status === 204) t.match(String(r.headers['access-control-allow-headers']), /x-grpc-web/, `${c.name}: the asked headers allowed`);
  }
});
