import dgram from 'node:dgram';
import type { Logger } from '../log/logger';
import type { UdpServer } from './balancer';
import type { UdpCounters } from './table';

/** Datagrams a session holds while its socket to the server connects (a name lookup at most); more are dropped, as UDP may. */
const MAX_PENDING = 64;

export interface SessionPeer {
  address: string;
  port: number;
}

/**
 * One client (address and port) talking to one server, as Traefik's UDP
 * "connection": its own socket connected to the server, so the server's
 * answers come back on it and go to this client only. A connected socket
 * also hears the server's ICMP port unreachable (ECONNREFUSED): the server
 * is ejected for the next sessions and this one ends, so the client's
 * retry opens a session to another server.
 */
export class UdpSession {
  lastActivity = Date.now();
  private closed = false;
  private pending: Buffer[] | undefined = [];
  private readonly upstream: dgram.Socket;

  constructor(
    readonly client: SessionPeer,
    readonly server: UdpServer,
    private readonly counters: UdpCounters,
    private readonly reply: (msg: Buffer, to: SessionPeer) => void,
    private readonly ended: (s: UdpSession) => void,
    private readonly log: Logger,
  ) {
    this.upstream = dgram.createSocket({ type: server.type });
    this.upstream.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    this.upstream.on('message', (msg) => this.fromServer(msg));
    this.upstream.connect(server.port, server.host, () => {
      const queued = this.pending ?? [];
      this.pending = undefined;
      for (const msg of queued) this.forward(msg);
    });
  }

  fromClient(msg: Buffer): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    this.counters.datagramsIn++;
    this.counters.bytesIn += msg.length;
    if (this.pending) {
      if (this.pending.length < MAX_PENDING) this.pending.push(msg);
      return;
    }
    this.forward(msg);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = undefined;
    this.upstream.close();
    this.ended(this);
  }

  private forward(msg: Buffer): void {
    // An error here also arrives as an 'error' event; the callback only keeps it from being thrown.
    this.upstream.send(msg, () => undefined);
  }

  private fromServer(msg: Buffer): void {
    if (this.closed) return;
    this.lastActivity = Date.now();
    this.counters.datagramsOut++;
    this.counters.bytesOut += msg.length;
    this.reply(msg, this.client);
  }

  private fail(err: NodeJS.ErrnoException): void {
    // Refused by the server's host, or a name that does not resolve: either way the next sessions go elsewhere.
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
      // Said once per ejection, not for every session that meets the server while it is down.
      if (this.server.up()) this.log.warn('UDP server refused; ejected for the next sessions', { server: this.server.address, error: err.code });
      this.server.eject();
    } else {
      this.log.debug('UDP session to server failed', { server: this.server.address, error: err.message });
    }
    this.close();
  }
}
