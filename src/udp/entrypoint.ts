import dgram from 'node:dgram';
import type { Logger } from '../log/logger';
import { udpBind } from './address';
import { UdpSession, type SessionPeer } from './session';
import type { UdpRoute } from './table';

export interface UdpEntryPointOptions {
  name: string;
  /** `[host]:port/udp`. */
  address: string;
  /** Idle time after which a session ends (`udp.timeout`). */
  timeoutMs: number;
  maxSessions: number;
  /** The current table's route for this entrypoint, read once per new session. */
  route: () => UdpRoute | undefined;
  log: Logger;
}

/** A refused session is said at most this often, so a flood of new clients does not flood the log. */
const DROP_LOG_INTERVAL_MS = 10_000;

/**
 * A UDP entrypoint: one socket that receives every client's datagrams.
 * The first datagram of a client address opens a session (session.ts) to
 * the server its route picks; later ones, and the server's answers, go
 * through that session until it has been idle for `timeoutMs`. Sessions
 * are bounded by `maxSessions`: a new client beyond it is dropped.
 */
export class UdpEntryPoint {
  private socket?: dgram.Socket;
  private readonly sessions = new Map<string, UdpSession>();
  private sweeper?: NodeJS.Timeout;
  private lastDropLog = 0;
  port = 0;

  constructor(private readonly opts: UdpEntryPointOptions) {}

  get name(): string {
    return this.opts.name;
  }

  get address(): string {
    return this.opts.address;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const bind = udpBind(this.opts.address);
    try {
      this.socket = await bound(bind.type, bind.host || (bind.type === 'udp6' ? '::' : '0.0.0.0'), bind.port);
    } catch (err) {
      // `:port` on a host without IPv6: every IPv4 interface, as Go's "udp" network falls back to.
      if (bind.host !== '' || !isNoIpv6(err)) throw err;
      this.socket = await bound('udp4', '0.0.0.0', bind.port);
    }
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    this.socket.on('error', (err) => this.opts.log.warn('UDP entrypoint socket error', { error: err.message }));
    const addr = this.socket.address();
    this.port = addr.port;
    return { host: addr.address, port: addr.port };
  }

  /** UDP has nothing in flight to drain: sessions end at once. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const s of [...this.sessions.values()]) s.close();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    const session = this.sessions.get(key) ?? this.open(key, { address: rinfo.address, port: rinfo.port });
    session?.fromClient(msg);
  }

  private open(key: string, client: SessionPeer): UdpSession | undefined {
    const route = this.opts.route();
    if (!route) return undefined;
    const counters = route.router.counters;
    if (this.sessions.size >= this.opts.maxSessions) {
      counters.dropped++;
      this.said('UDP entrypoint at its session limit: datagrams of new clients are dropped', { maxSessions: this.opts.maxSessions });
      return undefined;
    }
    const server = route.picker.pick();
    if (!server) {
      counters.dropped++;
      this.said('UDP router has no server: datagrams of new clients are dropped', { router: route.router.name });
      return undefined;
    }
    const session = new UdpSession(client, server, counters, (m, to) => this.send(m, to), (s) => this.ended(key, s), this.opts.log);
    this.sessions.set(key, session);
    counters.sessions++;
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, this.opts.timeoutMs / 10)).unref();
    return session;
  }

  private send(msg: Buffer, to: SessionPeer): void {
    // A client that went away is no fault of the session; its error arrives on the socket's 'error' too.
    this.socket?.send(msg, to.port, to.address, () => undefined);
  }

  private ended(key: string, s: UdpSession): void {
    if (this.sessions.get(key) === s) this.sessions.delete(key);
    if (this.sessions.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Ends the sessions idle for the timeout; checked ten times per timeout, as Traefik does. */
  private sweep(): void {
    const now = Date.now();
    for (const s of [...this.sessions.values()]) if (now - s.lastActivity >= this.opts.timeoutMs) s.close();
  }

  private said(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return;
    this.lastDropLog = now;
    this.opts.log.warn(msg, { entryPoint: this.opts.name, ...fields });
  }
}

function bound(type: 'udp4' | 'udp6', address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type });
    const fail = (err: Error): void => {
      try {
        socket.close();
      } catch {
        // Never bound: nothing to close.
      }
      reject(err);
    };
    socket.once('error', fail);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

const isNoIpv6 = (err: unknown): boolean => ['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT'].includes((err as NodeJS.ErrnoException).code ?? '');
