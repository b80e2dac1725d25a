import type { Socket } from 'node:net';
import { DirectResponse, ResponseOwner } from './direct-response';
import { HAND_OFF, INCOMPLETE, PlainRequestHead, readRequestHead } from './request-head';

/** The entrypoint side of a direct connection. */
export interface DirectHost {
  readonly maxHeadBytes: number;
  readonly maxFields: number;
  readonly keepAliveSeconds: number;
  /** How long a new connection may wait for its first request head, and an idle one for its next (ms; 0: no bound). */
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Draining: each response says `Connection: close` and the connection ends after it. */
  readonly draining: boolean;
  /**
   * Serves one plain request on `res`, or returns false without touching
   * it: the request then goes to Node's server, from its first byte.
   */
  serve(head: PlainRequestHead, res: DirectResponse, socket: Socket): boolean;
  /** Gives the socket and the unread bytes (from a request's first byte) to Node's HTTP server. */
  handOff(socket: Socket, unread: Buffer | null): void;
  /** The connection closed or was handed off. */
  released(conn: DirectConnection): void;
}

/**
 * A client connection read by Portier itself while its requests stay in
 * the plain subset (see request-head.ts), one at a time, in order; the
 * first request outside it, and every byte after, goes to Node's server
 * with the socket, so only Node's parser ever judges an unusual request.
 * A partial head is handed off too, leaving slow clients to Node's
 * header timeout.
 */
export class DirectConnection implements ResponseOwner {
  /** Bytes read and not yet served: a pipelined request, or the start of one. */
  private unread: Buffer | null = null;
  private current: DirectResponse | null = null;
  /** When the connection is closed if it is still waiting for a request (ms since the epoch); 0: never, or busy. */
  deadline: number;
  private endAfter = false;
  private released = false;
  /** The client is not reading its responses: no further request is served until the socket drains. */
  private awaitingDrain = false;

  private readonly onData = (data: Buffer): void => {
    this.unread = this.unread ? Buffer.concat([this.unread, data]) : data;
    // Pipelined bytes wait for the current response; past a head's size, the client waits too.
    if (this.current) {
      if (this.unread.length > this.host.maxHeadBytes) this.socket.pause();
      return;
    }
    this.next();
  };
  private readonly onEnd = (): void => {
    // As Node's server (httpAllowHalfOpen off): a client that stops sending abandons what is in flight.
    const res = this.current;
    this.current = null;
    res?.closeOnce();
    this.socket.end();
  };
  private readonly onClose = (): void => {
    this.release();
    this.current?.closeOnce();
  };
  private readonly onDrain = (): void => {
    this.current?.drained();
    if (!this.awaitingDrain) return;
    this.awaitingDrain = false;
    if (this.unread && !this.current) this.next();
    else this.socket.resume();
  };
  private readonly onError = (): void => {
    this.socket.destroy();
  };

  /** `first`: bytes already read from the socket (by the entrypoint's connection router). */
  constructor(
    readonly socket: Socket,
    private readonly host: DirectHost,
    first?: Buffer,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    this.deadline = host.headersTimeoutMs ? Date.now() + host.headersTimeoutMs : 0;
    if (first) this.onData(first);
  }

  get closing(): boolean {
    return this.endAfter || this.host.draining;
  }

  get keepAliveSeconds(): number {
    return this.host.keepAliveSeconds;
  }

  /** Closes the connection if it waits for a request (shutdown, timeouts). */
  closeIfIdle(): void {
    if (!this.current && !this.released) this.socket.destroy();
  }

  responseDone(res: DirectResponse): void {
    if (res !== this.current) return;
    this.current = null;
    if (res.closesConnection) this.endAfter = true;
    if (this.host.idleTimeoutMs) this.deadline = Date.now() + this.host.idleTimeoutMs;
    // The next request waits a tick: it must not start inside the end() of the one before.
    if (this.unread || this.closing) process.nextTick(() => this.afterResponse(res));
    else res.closeOnce();
  }

  private afterResponse(res: DirectResponse): void {
    res.closeOnce();
    if (this.closing) {
      this.socket.end();
      return;
    }
    if (this.unread && !this.current) this.next();
    else if (this.socket.isPaused() && !this.awaitingDrain) this.socket.resume();
  }

  private next(): void {
    // As Node's server: responses the client has not read yet stop the next request (pipelined or not), so
    // a client that sends and never reads cannot make the gateway buffer its answers without bound.
    if (this.socket.writableNeedDrain) {
      this.awaitingDrain = true;
      this.socket.pause();
      return;
    }
    if (this.socket.isPaused() && this.unread!.length <= this.host.maxHeadBytes) this.socket.resume();
    const buf = this.unread!;
    const head = readRequestHead(buf, 0, this.host.maxHeadBytes, this.host.maxFields);
    if (head === INCOMPLETE || head === HAND_OFF) return this.handOff();
    const res = new DirectResponse(this, head.method === 'HEAD');
    this.current = res;
    const deadline = this.deadline;
    this.deadline = 0;
    // Consumed before serve(): its answer may be complete before serve() returns (an error answered at once).
    this.unread = head.end < buf.length ? buf.subarray(head.end) : null;
    if (!this.host.serve(head, res, this.socket)) {
      this.current = null;
      this.deadline = deadline;
      this.unread = buf;
      return this.handOff();
    }
  }

  private handOff(): void {
    const { socket } = this;
    this.release();
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.off('drain', this.onDrain);
    socket.off('error', this.onError);
    // A paused socket may hold bytes in its stream buffer: they follow the ones already read.
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) this.unread = this.unread ? Buffer.concat([this.unread, chunk]) : chunk;
    const unread = this.unread;
    this.unread = null;
    if (!socket.destroyed) this.host.handOff(socket, unread);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.host.released(this);
  }
}
