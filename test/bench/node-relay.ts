import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

/**
 * The ceiling of any Node proxy on one core: a relay that only finds where
 * each message ends (request heads without bodies, responses framed by
 * Content-Length), passes the bytes through untouched over pooled upstream
 * connections, and does nothing else: no HTTP semantics, no routing, no
 * header rewriting, no validation, no timeouts. No gateway can be faster
 * than this on the same runtime; it is a measuring stick, not a proxy.
 * With CERT_FILE and KEY_FILE it listens with TLS 1.3 instead (Node's own
 * TLS server, the one Portier's HTTPS entrypoints use), and relays the
 * decrypted bytes to the plain-HTTP backend the same way: the ceiling of a
 * Node gateway that terminates TLS.
 * Usage: node node-relay.js PORT BACKEND_PORT [CERT_FILE KEY_FILE]
 */
const [port, backend] = process.argv.slice(2, 4).map(Number);
const [certFile, keyFile] = process.argv.slice(4, 6);

interface Upstream extends net.Socket {
  client?: Client;
  unparsed?: Buffer;
}
interface Client extends net.Socket {
  unparsed?: Buffer;
  busy?: boolean;
}

const idle: Upstream[] = [];

function upstream(): Upstream {
  const reused = idle.pop();
  if (reused) return reused;
  const s: Upstream = net.connect(backend, '127.0.0.1') as Upstream;
  s.setNoDelay(true);
  s.on('data', (d: Buffer) => fromUpstream(s, d));
  s.on('error', () => s.client?.destroy());
  // A backend that closes a connection (after `Connection: close`) must not leave it in the pool.
  s.on('close', () => {
    const i = idle.indexOf(s);
    if (i >= 0) idle.splice(i, 1);
    s.client?.destroy();
  });
  return s;
}

function fromUpstream(s: Upstream, data: Buffer): void {
  const buf = s.unparsed ? Buffer.concat([s.unparsed, data]) : data;
  const end = buf.indexOf('\r\n\r\n');
  const length = end < 0 ? null : /\r\ncontent-length: *(\d+)/i.exec(buf.toString('latin1', 0, end));
  if (!length || buf.length < end + 4 + Number(length[1])) {
    s.unparsed = buf;
    return;
  }
  s.unparsed = undefined;
  const client = s.client!;
  s.client = undefined;
  idle.push(s);
  client.write(buf);
  client.busy = false;
  fromClient(client);
}

function fromClient(c: Client): void {
  if (c.busy || !c.unparsed) return;
  const end = c.unparsed.indexOf('\r\n\r\n');
  if (end < 0) return;
  const head = c.unparsed.subarray(0, end + 4);
  c.unparsed = c.unparsed.length > end + 4 ? c.unparsed.subarray(end + 4) : undefined;
  c.busy = true;
  const s = upstream();
  s.client = c;
  s.write(head);
}

function onClient(c: Client): void {
  c.setNoDelay(true);
  c.on('error', () => c.destroy());
  c.on('data', (d: Buffer) => {
    c.unparsed = c.unparsed ? Buffer.concat([c.unparsed, d]) : d;
    fromClient(c);
  });
}

const server = certFile && keyFile
  ? tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.3' }, (c) => onClient(c as net.Socket as Client))
  : net.createServer((c) => onClient(c as Client));
server.listen(port, '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
