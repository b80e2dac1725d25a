import t from 'tap';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway';
import { request, type Reply } from '../helpers/http';

/**
 * A backend that sends a response nobody asked for on a keep-alive
 * connection must not shift the answers of the requests that follow on
 * that connection (other clients' requests): the pooled connection is
 * retired and the next request dials a fresh one (upstream-pool.ts,
 * response-parser.ts). Every answer carries its request's path, so a
 * response delivered to the wrong request shows.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

async function until(pred: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!pred() && Date.now() < deadline) await sleep(10);
  return pred();
}

/** A complete response that answers no request; its path is no request's. */
const UNSOLICITED = 'HTTP/1.1 200 OK\r\nX-Path: /unsolicited\r\nContent-Length: 12\r\n\r\n/unsolicited';

const withLength = (path: string): string => `HTTP/1.1 200 OK\r\nX-Path: ${path}\r\nContent-Length: ${path.length}\r\n\r\n${path}`;
const chunked = (path: string): string => `HTTP/1.1 200 OK\r\nX-Path: ${path}\r\nTransfer-Encoding: chunked\r\n\r\n${path.length.toString(16)}\r\n${path}\r\n0\r\n\r\n`;

/** The backend's answer, then the unsolicited bytes in the same write. */
const oneWrite = (extra: string) => (s: net.Socket, answer: string): void => void s.write(answer + extra);
/** Two writes with Nagle on: the second may join the first segment or follow it a delayed ACK later. */
const nagle = (s: net.Socket, answer: string): void => {
  s.setNoDelay(false);
  s.write(answer);
  s.write(UNSOLICITED);
};
/** The unsolicited response 30 ms after the answer, while the connection is idle in the gateway's pool. */
const later = (s: net.Socket, answer: string): void => {
  s.write(answer);
  setTimeout(() => s.destroyed || s.write(UNSOLICITED), 30);
};

interface Case {
  name: string;
  method?: 'HEAD';
  /** The backend's answer to a request for `path`; it echoes the path in X-Path and, with a body, in the body. */
  answer: (path: string) => string;
  status: number;
  /** The answer has a body: the path. */
  body: boolean;
  send: (s: net.Socket, answer: string) => void;
}

const cases: Case[] = [
  { name: 'Content-Length response, an extra response in the same write', answer: withLength, status: 200, body: true, send: oneWrite(UNSOLICITED) },
  { name: 'Content-Length response, one stray byte in the same write', answer: withLength, status: 200, body: true, send: oneWrite('X') },
  { name: 'chunked response, an extra response after its last chunk', answer: chunked, status: 200, body: true, send: oneWrite(UNSOLICITED) },
  { name: '204, an extra response after its head', answer: (p) => `HTTP/1.1 204 No Content\r\nX-Path: ${p}\r\n\r\n`, status: 204, body: false, send: oneWrite(UNSOLICITED) },
  { name: '304, an extra response after its head', answer: (p) => `HTTP/1.1 304 Not Modified\r\nX-Path: ${p}\r\nContent-Length: 9\r\n\r\n`, status: 304, body: false, send: oneWrite(UNSOLICITED) },
  { name: 'HEAD answered, an extra response after its head', method: 'HEAD', answer: (p) => `HTTP/1.1 200 OK\r\nX-Path: ${p}\r\nContent-Length: 9\r\n\r\n`, status: 200, body: false, send: oneWrite(UNSOLICITED) },
  { name: 'Content-Length response, an extra response in a second write with Nagle on', answer: withLength, status: 200, body: true, send: nagle },
  { name: 'Content-Length response, an extra response 30 ms later on the idle connection', answer: withLength, status: 200, body: true, send: later },
];

const SEQUENTIAL = 4;
const CONCURRENT = 8;

for (const c of cases) {
  t.test(c.name, async (t) => {
    let accepted = 0;
    let closed = 0;
    const sockets = new Set<net.Socket>();
    // Raw: request heads only (no bodies); each answer 100 ms late, so a concurrent batch is in flight at once.
    const server = net.createServer((s) => {
      accepted++;
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => (closed++, sockets.delete(s)));
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const path = buf.slice(0, end).split(' ')[1];
          buf = buf.slice(end + 4);
          setTimeout(() => s.destroyed || c.send(s, c.answer(path)), 100);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const gw = await startTestGateway({
      http: {
        routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } },
        services: { s: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }] } } },
      },
    });
    t.teardown(async () => {
      await gw.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });

    const ask = (path: string): Promise<Reply & { path: string }> =>
      request(`${gw.url}${path}`, { method: c.method, timeoutMs: 5000 }).then(
        (r) => ({ ...r, path }),
        (e: Error) => ({ status: 0, headers: {}, body: e.message, path }),
      );
    const replies: (Reply & { path: string })[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      replies.push(await ask(`/seq-${i}`));
      // Past the late unsolicited response: it arrives while the connection is idle in the pool.
      await sleep(60);
    }
    replies.push(...(await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => ask(`/con-${i}`)))));

    const wrong = replies
      .filter((r) => r.status !== c.status || r.headers['x-path'] !== r.path || r.body !== (c.body ? r.path : ''))
      .map((r) => `${r.path} got ${r.status} ${String(r.headers['x-path'])} ${JSON.stringify(r.body)}`);
    t.same(wrong, [], `each of ${replies.length} clients gets the answer to its own request`);
    t.equal(accepted, SEQUENTIAL + CONCURRENT, 'a poisoned connection is never reused: each request dials a fresh one');
    t.ok(await until(() => closed === accepted), `the gateway closes every poisoned connection (${closed} of ${accepted})`);
  });
}
