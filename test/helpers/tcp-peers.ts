import net from 'node:net';
import tls from 'node:tls';
import type { Test } from 'tap';

/**
 * Small TCP servers for the TCP routing tests, each closed at the end of
 * `t`: they say who they are, so a test sees which server a connection
 * reached.
 */
async function listen(t: Test, server: net.Server): Promise<number> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r(undefined)));
  });
  return (server.address() as net.AddressInfo).port;
}

/**
 * Greets each connection with `<name>\n` at once (a server-first protocol),
 * then echoes every line back prefixed with its name; on the client's
 * half-close it answers `<name> bye` and ends its side.
 */
export function startGreeter(t: Test, name: string): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.write(`${name}\n`);
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        s.write(`${name}: ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
    s.on('end', () => setTimeout(() => s.end(`${name} bye\n`), 50));
  });
  return listen(t, server);
}

/** A TLS server with its own certificate, answering `<name>` to each connection and closing. */
export function startTlsGreeter(t: Test, name: string, cert: { cert: string; key: string }): Promise<number> {
  const server = tls.createServer(cert, (s) => {
    s.on('error', () => undefined);
    s.end(`${name} over ${s.getProtocol()}\n`);
  });
  return listen(t, server as unknown as net.Server);
}

/** A client: connects, optionally sends `send`, and returns everything it received until the server closed. */
export function talk(port: number, opts: { send?: string; halfClose?: boolean; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${opts.timeoutMs ?? 10_000} ms; got ${JSON.stringify(out)}`));
    }, opts.timeoutMs ?? 10_000);
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('connect', () => {
      if (opts.send !== undefined) s.write(opts.send);
      if (opts.halfClose) s.end();
    });
    s.on('end', () => s.end());
  });
}
