import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { DirectResponse, type ResponseOwner } from '../../src/server/direct-response';

/**
 * DirectResponse's framing and added fields, on a real socket pair: what
 * a client reads for each way the direct route writes a response. `Date`
 * is checked for presence, then left out of the compared bytes.
 */

type Step = (res: DirectResponse) => void;

interface Case {
  name: string;
  steps: Step[];
  headRequest?: boolean;
  closing?: boolean;
  keepAliveSeconds?: number;
  /** The bytes the client receives, Date line removed. */
  expect: string;
  /** The connection is to end after this response. */
  closes?: boolean;
  /** What getHeaders() reads once the response went out (as the access log reads it). */
  fields?: Record<string, string | string[]>;
  /** receiveAll() is refused once a field is set. */
  refusesList?: boolean;
}

const KA = 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n';
const body = (s: string): Step => (res) => res.end(Buffer.from(s));

const cases: Case[] = [
  { name: 'whole body at end: Content-Length', steps: [(r) => r.setHeader('content-type', 'text/plain'), body('hello')], expect: `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n${KA}Content-Length: 5\r\n\r\nhello` },
  { name: 'backend Content-Length kept', steps: [(r) => r.writeHead(200, { 'content-length': 5 }), body('hello')], expect: `HTTP/1.1 200 OK\r\ncontent-length: 5\r\n${KA}\r\nhello` },
  {
    name: 'streamed body of unknown length: chunked',
    steps: [(r) => r.writeHead(201, 'Made'), (r) => r.write(Buffer.from('ab')), (r) => r.write(Buffer.from('cde')), (r) => r.end()],
    expect: `HTTP/1.1 201 Made\r\n${KA}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n`,
  },
  { name: 'head alone, then body and end: chunked', steps: [(r) => r.write(Buffer.alloc(0)), body('xyz')], expect: `HTTP/1.1 200 OK\r\n${KA}Transfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n` },
  { name: 'HEAD: no body, no framing added', headRequest: true, steps: [(r) => r.setHeader('x-a', '1'), body('ignored')], expect: `HTTP/1.1 200 OK\r\nx-a: 1\r\n${KA}\r\n` },
  { name: 'HEAD keeps the backend Content-Length', headRequest: true, steps: [(r) => r.setHeader('content-length', '1234'), (r) => r.end()], expect: `HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n${KA}\r\n` },
  { name: '204: no body', steps: [(r) => r.writeHead(204), body('ignored')], expect: `HTTP/1.1 204 No Content\r\n${KA}\r\n` },
  { name: '304: no body', steps: [(r) => r.writeHead(304), (r) => r.end()], expect: `HTTP/1.1 304 Not Modified\r\n${KA}\r\n` },
  { name: 'repeated Set-Cookie', steps: [(r) => r.setHeader('set-cookie', ['a=1', 'b=2']), (r) => r.end()], expect: `HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n${KA}Content-Length: 0\r\n\r\n` },
  { name: 'draining: Connection: close', closing: true, steps: [body('x')], expect: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx', closes: true },
  { name: 'no idle timeout: no Keep-Alive field', keepAliveSeconds: 0, steps: [body('x')], expect: 'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx' },
  {
    name: 'a Connection field set on the response is sent as it is, and close obeyed',
    steps: [(r) => r.writeHead(503, { connection: 'close', 'content-length': 2 }), body('no')],
    expect: 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 2\r\n\r\nno',
    closes: true,
  },
  {
    name: "an upstream's field list taken whole, repeats as their own lines",
    steps: [(r) => r.receiveAll(['content-type', 'text/plain', 'x-r', '1', 'x-r', '2', 'content-length', '2']), body('ok')],
    expect: `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-r: 1\r\nx-r: 2\r\ncontent-length: 2\r\n${KA}\r\nok`,
    fields: { 'content-type': 'text/plain', 'x-r': ['1', '2'], 'content-length': '2' },
  },
  {
    name: 'a field set before the upstream\'s: they are set one by one instead',
    steps: [(r) => r.setHeader('set-cookie', 'pin=1'), (r) => r.end()],
    expect: `HTTP/1.1 200 OK\r\nset-cookie: pin=1\r\n${KA}Content-Length: 0\r\n\r\n`,
    refusesList: true,
  },
  { name: 'unknown status: reason "unknown"', steps: [(r) => r.writeHead(599), (r) => r.end()], expect: `HTTP/1.1 599 unknown\r\n${KA}Content-Length: 0\r\n\r\n` },
];

t.test('direct responses as a client reads them', async (t) => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  for (const c of cases) {
    const client = net.connect(port, '127.0.0.1');
    const [socket] = (await once(server, 'connection')) as [net.Socket];
    let done = 0;
    const owner: ResponseOwner = { socket, keepAliveSeconds: c.keepAliveSeconds ?? 5, closing: c.closing ?? false, responseDone: () => done++ };
    const res = new DirectResponse(owner, c.headRequest ?? false);
    for (const step of c.steps) step(res);
    socket.end();
    const chunks: Buffer[] = [];
    client.on('data', (d: Buffer) => chunks.push(d));
    await once(client, 'end');
    client.destroy();
    const got = Buffer.concat(chunks).toString('latin1');
    t.match(got, /\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n/, `${c.name}: Date`);
    t.equal(got.replace(/Date: [^\r]*\r\n/, ''), c.expect, c.name);
    t.equal(done, 1, `${c.name}: responseDone once`);
    t.equal(res.writableFinished, true, `${c.name}: finished`);
    t.equal(res.closesConnection, c.closes ?? false, `${c.name}: closes the connection`);
    if (c.fields) t.same(res.getHeaders(), c.fields, `${c.name}: its fields read back after the response`);
    if (c.refusesList) t.equal(new DirectResponse(owner, false).setHeader('x', '1').receiveAll(['a', 'b']), false, `${c.name}: receiveAll refused`);
  }
});
