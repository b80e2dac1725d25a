import net from 'node:net';
import type { Test } from 'tap';

/** A loopback port nothing listens on: connections to it are refused. */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/**
 * A loopback server that accepts connections and never says a word (not
 * even a TLS handshake), closed at the end of `t`. `sockets` holds the
 * connections still open, for tests that check a client gave up.
 */
export async function startSilentServer(t: Test): Promise<{ port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // Read and ignored: a socket nobody reads never learns that its peer has closed.
    socket.resume();
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { port: (server.address() as net.AddressInfo).port, sockets };
}
