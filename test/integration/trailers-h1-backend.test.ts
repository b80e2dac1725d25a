import t from 'tap';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway';

/**
 * Trailers of an HTTP/1.1 backend's chunked response (docs/http2.md,
 * "Trailers"): passed on to HTTP/2 clients, and to HTTP/1.1 clients that
 * sent `TE: trailers`; others get the body without them. Each front end:
 * the plain router is served on the direct path (HTTP/1.1) or as a plain
 * stream (HTTP/2), the circuitBreaker router through Node's servers. The
 * backend sends the whole response in one write, or its head and first
 * chunk first and the rest, trailers included, later.
 */

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n';
const TAIL = '0\r\nX-Checksum: abc\r\nGrpc-Status: 0\r\nContent-Length: 99\r\n\r\n';

/** A backend on raw sockets: bodiless GETs only, answered in order, kept alive. */
async function startTrailingBackend(): Promise<{ port: number; close(): void }> {
  const server = net.createServer((socket) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      for (let end = got.indexOf('\r\n\r\n'); end >= 0; end = got.indexOf('\r\n\r\n')) {
        const path = got.slice(0, got.indexOf('\r\n')).split(' ')[1];
        got = got.slice(end + 4);
        if (path === '/streamed') {
          socket.write(`${HEAD}6\r\nhello \r\n`);
          setTimeout(() => socket.write(`5\r\nworld\r\n${TAIL}`), 50);
        } else socket.write(`${HEAD}b\r\nhello world\r\n${TAIL}`);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

interface Answer {
  body: string;
  trailers: Record<string, string | string[] | undefined>;
}

function h1(port: number, host: string, path: string, te: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { host, ...(te ? { te: 'trailers' } : {}) } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ body, trailers: res.trailers }));
    });
    req.on('error', reject);
  });
}

function h2(port: number, host: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':path': path, ':authority': host });
    let body = '';
    let trailers: Answer['trailers'] = {};
    req.setEncoding('latin1');
    req.on('data', (c: string) => (body += c));
    req.on('trailers', (t) => (trailers = t));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      resolve({ body, trailers });
    });
  });
}

t.test("an HTTP/1.1 backend's trailers", async (t) => {
  const backend = await startTrailingBackend();
  t.teardown(() => backend.close());
  const gw = await startTestGateway({
    http: {
      routers: {
        plain: { rule: 'Host(`plain.test`)', service: 'app' },
        node: { rule: 'Host(`node.test`)', service: 'app', middlewares: ['cb'] },
      },
      middlewares: { cb: { circuitBreaker: { expression: 'NetworkErrorRatio() > 0.99' } } },
      // The head of /streamed goes out before its body ends: the trailers follow a head already sent.
      services: { app: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${backend.port}` }], responseForwarding: { flushInterval: '1ms' } } } },
    },
  });
  t.teardown(() => gw.close());
  const clients = [
    { name: 'HTTP/2', send: (host: string, path: string) => h2(gw.port, host, path), trailers: true },
    { name: 'HTTP/1.1 with TE: trailers', send: (host: string, path: string) => h1(gw.port, host, path, true), trailers: true },
    { name: 'HTTP/1.1 without TE', send: (host: string, path: string) => h1(gw.port, host, path, false), trailers: false },
  ];
  for (const c of clients) {
    for (const host of ['plain.test', 'node.test']) {
      for (const path of ['/whole', '/streamed']) {
        const a = await c.send(host, path);
        const what = `${c.name}, ${host}${path}`;
        t.equal(a.body, 'hello world', `${what}: the body`);
        if (!c.trailers) {
          t.same(Object.keys(a.trailers), [], `${what}: no trailers`);
          continue;
        }
        t.equal(a.trailers['x-checksum'], 'abc', `${what}: the trailer`);
        t.equal(a.trailers['grpc-status'], '0', `${what}: a second one`);
        t.equal(a.trailers['content-length'], undefined, `${what}: framing fields are not passed on as trailers`);
      }
    }
  }
});
