import t from 'tap';
import net from 'node:net';
import { once } from 'node:events';
import { DirectConnection, type DirectHost } from '../../src/server/direct-connection';

/**
 * DirectConnection on a real socket pair, with a host that answers every
 * request itself: a client that does not read its answers gets no further
 * request served (as with Node's server) until it reads.
 */

const plain = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

t.test('requests wait while the client has not read what is already written', async (t) => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.pause();
  const [socket] = (await once(server, 'connection')) as [net.Socket];
  t.teardown(() => {
    client.destroy();
    socket.destroy();
  });
  // More than the socket buffers of both ends take, so most of it waits in the server socket's own buffer.
  const backlog = 64 * 1024 * 1024;
  socket.write(Buffer.alloc(backlog));
  t.ok(socket.writableNeedDrain, 'the server socket holds unsent bytes');
  const served: string[] = [];
  const host: DirectHost = {
    maxHeadBytes: 16_384, maxFields: 100, keepAliveSeconds: 5, headersTimeoutMs: 0, idleTimeoutMs: 0, draining: false,
    serve(head, res) {
      served.push(head.url);
      res.end(Buffer.from('ok'));
      return true;
    },
    handOff: () => t.fail('no request here leaves the plain subset'),
    released: () => undefined,
  };
  new DirectConnection(socket, host);
  client.write(plain('/1') + plain('/2') + plain('/3'));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(served, [], 'no request is served while the client reads nothing');
  let received = 0;
  client.on('data', (d: Buffer) => (received += d.length));
  client.resume();
  const deadline = Date.now() + 10_000;
  while (served.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(served, ['/1', '/2', '/3'], 'once it reads, the requests are served in order');
  while (received < backlog + 3 * 80 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(received > backlog, `the client got the backlog and the answers (${received} bytes)`);
});
