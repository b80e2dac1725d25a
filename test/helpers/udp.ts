import dgram from 'node:dgram';
import type { Test } from 'tap';

/** A UDP server on 127.0.0.1 that answers `<name>:<datagram>` and remembers the source port of each datagram. */
export interface UdpEcho {
  port: number;
  name: string;
  /** Source ports seen, in order: Portier's upstream socket of each session. */
  peers: number[];
}

export async function startUdpEcho(t: Test, name: string): Promise<UdpEcho> {
  const socket = dgram.createSocket('udp4');
  const echo: UdpEcho = { port: 0, name, peers: [] };
  socket.on('message', (msg, rinfo) => {
    echo.peers.push(rinfo.port);
    // Large datagrams come back as they are, so their size is what the test checks.
    const answer = msg.length > 1000 ? msg : Buffer.concat([Buffer.from(`${name}:`), msg]);
    socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  echo.port = socket.address().port;
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return echo;
}

/** A loopback UDP port nothing is bound to (free to bind; datagrams sent there are answered with ICMP port unreachable). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A client with its own source port (one session at Portier); closed at the end of `t`. */
export interface UdpClient {
  /** Sends one datagram and waits for one answer, or undefined after `timeoutMs`. */
  ask(port: number, msg: string | Buffer, timeoutMs?: number): Promise<Buffer | undefined>;
  close(): void;
}

/** `host`: the loopback address to send from and to, 127.0.0.1 or ::1. */
export async function udpClient(t: Test, host = '127.0.0.1'): Promise<UdpClient> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  // ICMP errors from a dropped session are not the test's concern: the answer (or none) is.
  socket.on('error', () => undefined);
  let closed = false;
  const close = (): void => {
    if (!closed) socket.close();
    closed = true;
  };
  t.teardown(close);
  return {
    ask: (port, msg, timeoutMs = 3000) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          socket.off('message', onMessage);
          resolve(undefined);
        }, timeoutMs);
        const onMessage = (answer: Buffer): void => {
          clearTimeout(timer);
          resolve(answer);
        };
        socket.once('message', onMessage);
        socket.send(typeof msg === 'string' ? Buffer.from(msg) : msg, port, host);
      }),
    close,
  };
}

/** Asks until an answer comes (a session's first datagram may race a configuration change), at most `tries` times. */
export async function askUntilAnswered(client: UdpClient, port: number, msg: string, tries = 10): Promise<string | undefined> {
  for (let i = 0; i < tries; i++) {
    const a = await client.ask(port, msg, 1000);
    if (a) return a.toString();
  }
  return undefined;
}
