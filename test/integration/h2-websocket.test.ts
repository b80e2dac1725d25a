import t from 'tap';
import crypto from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { startTestGateway } from '../helpers/gateway';
import { deadPort } from '../helpers/dead-peers';

/**
 * WebSocket over HTTP/2 (RFC 8441): a client opens the WebSocket as a
 * stream (extended CONNECT, `:protocol websocket`); the gateway bridges it
 * to the backend's HTTP/1.1 Upgrade. The backend here is a minimal
 * WebSocket server on Node's http module (handshake and one echo).
 */

/** An unmasked (server) or masked (client) text frame, payload < 126 bytes. */
function frame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  const key = mask ? crypto.randomBytes(4) : Buffer.alloc(0);
  const body = mask ? Buffer.from(payload.map((b, i) => b ^ key[i % 4])) : payload;
  return Buffer.concat([Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]), key, body]);
}

function unframe(buf: Buffer): string {
  const len = buf[1] & 0x7f;
  const masked = (buf[1] & 0x80) !== 0;
  const key = masked ? buf.subarray(2, 6) : null;
  const data = buf.subarray(masked ? 6 : 2, (masked ? 6 : 2) + len);
  return Buffer.from(key ? data.map((b, i) => b ^ key[i % 4]) : data).toString();
}

t.test('a WebSocket over HTTP/2 reaches an HTTP/1.1 backend', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  let backendClosed = 0;
  const backend = http.createServer((_req, res) => res.writeHead(426).end());
  backend.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    seen.push(req.headers);
    // 'end': Node's server sockets stay half open until this side ends them.
    socket.once('end', () => backendClosed++);
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(frame(`echo ${unframe(d)}`, false)));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    backend.closeAllConnections();
    backend.close();
  });
  const gw = await startTestGateway({
    http: {
      routers: { ws: { rule: 'Host(`ws.localhost`)', service: 'ws' }, gone: { rule: 'Host(`gone.localhost`)', service: 'gone' } },
      services: {
        ws: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${(backend.address() as AddressInfo).port}` }] } },
        gone: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${await deadPort()}` }] } },
      },
    },
  });
  t.teardown(() => gw.close());

  const session = http2.connect(gw.url);
  t.teardown(() => session.destroy());
  const settings = await new Promise<http2.Settings>((r) => session.once('remoteSettings', r));
  t.equal(settings.enableConnectProtocol, true, 'the gateway announces SETTINGS_ENABLE_CONNECT_PROTOCOL');

  const cases: { name: string; headers: http2.OutgoingHttpHeaders; status: number; echo?: string; authority?: string }[] = [
    { name: 'a WebSocket', headers: { ':protocol': 'websocket', 'sec-websocket-version': '13', 'sec-websocket-protocol': 'chat' }, status: 200, echo: 'echo hello' },
    { name: 'another protocol', headers: { ':protocol': 'something-else' }, status: 405 },
    { name: 'an unreachable backend', headers: { ':protocol': 'websocket', 'sec-websocket-version': '13' }, status: 502, authority: 'gone.localhost' },
  ];
  for (const c of cases) {
    const stream = session.request({ ':method': 'CONNECT', ':scheme': 'http', ':path': '/chat', ':authority': c.authority ?? 'ws.localhost', ...c.headers }, { endStream: false });
    const head = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    });
    t.equal(Number(head[':status']), c.status, `${c.name}: ${c.status}`);
    if (c.echo) {
      t.equal(head['sec-websocket-protocol'], 'chat', `${c.name}: the subprotocol the backend accepted`);
      stream.write(frame('hello', true));
      const reply = await new Promise<Buffer>((r) => stream.once('data', r));
      t.equal(unframe(reply), c.echo, `${c.name}: messages both ways`);
      t.equal(seen[0]?.upgrade, 'websocket', `${c.name}: the backend got an HTTP/1.1 Upgrade`);
      t.match(seen[0]?.['sec-websocket-key'], /^[A-Za-z0-9+/]{22}==$/, `${c.name}: with a key of its own`);
      t.equal(seen[0]?.host, 'ws.localhost', `${c.name}: and the client's :authority as Host`);
      stream.close();
      for (let i = 0; i < 100 && backendClosed === 0; i++) await new Promise((r) => setTimeout(r, 50));
      t.equal(backendClosed, 1, `${c.name}: the client closing its stream closes the backend connection`);
    }
    stream.close();
  }
});
