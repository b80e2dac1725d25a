import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { Origin } from './upstream-pool';

/** Fixed sizes of upstream HTTP/2 sessions (docs/grpc.md). */
export const H2_CLIENT = {
  /** Stream and connection receive windows, as the front end's: Node's 64 KiB would cap a download at one window per round trip. */
  windowBytes: 1 << 20,
  /** Streams assumed open to a server before its SETTINGS arrive (RFC 9113 recommends at least 100). */
  assumedStreams: 100,
};

export interface H2SessionsOptions {
  /** An idle session (no stream open) is closed after this; 0 keeps it. */
  idleTimeoutMs: number;
  dialTimeoutMs: number;
  /** `https:` servers may negotiate h2 by ALPN (false: serversTransport.disableHTTP2). */
  negotiate: boolean;
  tlsFor(host: string): tls.ConnectionOptions;
  /** A TLS connection whose ALPN chose HTTP/1.1: handed to the HTTP/1.1 pool. */
  adopt(origin: Origin, socket: tls.TLSSocket): void;
}

/** Why a session could not be had: the server was never reached, so any request may go to another. */
export class SessionFailure extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** One session to one server and the streams it carries. */
export class H2Session {
  private active = 0;
  /** GOAWAY received, or closing: new streams go to another session. */
  draining = false;
  private idleTimer?: NodeJS.Timeout;

  constructor(
    readonly session: http2.ClientHttp2Session,
    private readonly idleTimeoutMs: number,
  ) {}

  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS is reached: a new stream goes to another session. */
  get full(): boolean {
    const limit = this.session.remoteSettings?.maxConcurrentStreams ?? H2_CLIENT.assumedStreams;
    return this.active >= limit;
  }

  get usable(): boolean {
    return !this.draining && !this.session.closed && !this.session.destroyed;
  }

  /** A stream opened on it; `streamClosed` when that stream closes. */
  streamOpened(): void {
    this.active++;
    clearTimeout(this.idleTimer);
  }

  streamClosed(): void {
    if (--this.active > 0) return;
    if (this.draining) this.session.close();
    else if (this.idleTimeoutMs > 0) this.idleTimer = setTimeout(() => this.retire(), this.idleTimeoutMs).unref();
  }

  /** No new streams; those under way finish, then the session closes. */
  retire(): void {
    this.draining = true;
    clearTimeout(this.idleTimer);
    if (!this.session.closed) this.session.close();
  }
}

type Waiter = (err: SessionFailure | null, got?: H2Session | 'http/1.1') => void;

/**
 * Upstream HTTP/2 sessions of one transport, per server URL: a stream goes
 * to the first session that has room under the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS, else a new session is opened. A
 * session that receives GOAWAY takes no new streams (the ones under way
 * finish); an idle one closes after the transport's idleConnTimeout.
 * `h2c:` servers get HTTP/2 with prior knowledge; `https:` servers are
 * asked by ALPN, and one that picks HTTP/1.1 is remembered as such and
 * its connection handed to the HTTP/1.1 pool.
 */
export class H2Sessions {
  private readonly sessions = new Map<string, H2Session[]>();
  /** A connection being opened, per server, with the requests waiting for it. */
  private readonly pending = new Map<string, Waiter[]>();
  /** `https:` servers whose ALPN chose HTTP/1.1. */
  private readonly http1 = new Set<string>();
  private closed = false;

  constructor(private readonly opts: H2SessionsOptions) {}

  /** Whether `origin`'s requests go over HTTP/2 (for `https:`, until its ALPN says otherwise). */
  speaksH2(origin: Origin): boolean {
    return origin.h2c || (origin.tls && this.opts.negotiate && !this.http1.has(origin.key));
  }

  /** A session with room for one more stream, or 'http/1.1' when the server's ALPN chose it. */
  acquire(origin: Origin, done: Waiter): void {
    if (this.closed) return done(new SessionFailure('transport closed', false));
    const open = this.sessions.get(origin.key)?.find((s) => s.usable && !s.full);
    if (open) return done(null, open);
    const waiting = this.pending.get(origin.key);
    if (waiting) return void waiting.push(done);
    this.pending.set(origin.key, [done]);
    this.connect(origin);
  }

  private connect(origin: Origin): void {
    const socket = origin.tls
      ? tls.connect({ host: origin.host, port: origin.port, ...this.opts.tlsFor(origin.host), ALPNProtocols: ['h2', 'http/1.1'] })
      : net.connect({ host: origin.host, port: origin.port });
    socket.setNoDelay(true);
    const timer = this.opts.dialTimeoutMs > 0 ? setTimeout(() => fail(new SessionFailure('dial timeout', true)), this.opts.dialTimeoutMs) : undefined;
    const fail = (err: SessionFailure): void => {
      clearTimeout(timer);
      socket.destroy();
      this.settle(origin, err);
    };
    socket.once('error', (err: NodeJS.ErrnoException) => fail(new SessionFailure(err.message, false, err.code)));
    socket.once(origin.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      if (this.closed) return fail(new SessionFailure('transport closed', false));
      if (origin.tls && (socket as tls.TLSSocket).alpnProtocol !== 'h2') {
        this.http1.add(origin.key);
        this.opts.adopt(origin, socket as tls.TLSSocket);
        return this.settle(origin, null, 'http/1.1');
      }
      this.settle(origin, null, this.open(origin, socket));
    });
  }

  private open(origin: Origin, socket: net.Socket): H2Session {
    const session = http2.connect(`${origin.tls ? 'https' : 'http'}://${origin.hostHeader}`, {
      createConnection: () => socket,
      settings: { initialWindowSize: H2_CLIENT.windowBytes, enablePush: false },
      peerMaxConcurrentStreams: H2_CLIENT.assumedStreams,
    });
    const s = new H2Session(session, this.opts.idleTimeoutMs);
    let list = this.sessions.get(origin.key);
    if (!list) this.sessions.set(origin.key, (list = []));
    list.push(s);
    session.once('connect', () => session.setLocalWindowSize(H2_CLIENT.windowBytes));
    // Streams under way finish; node refuses new ones on this session, so they must go to another.
    session.once('goaway', () => (s.draining = true));
    // A session's failure reaches its streams as theirs; this only keeps it from being thrown.
    session.on('error', () => undefined);
    session.once('close', () => {
      // Node only ends its side; a server that never closes its own (Node's, after a GOAWAY) would keep it half open.
      socket.destroy();
      const l = this.sessions.get(origin.key);
      const i = l ? l.indexOf(s) : -1;
      if (i >= 0) l!.splice(i, 1);
      if (l && l.length === 0) this.sessions.delete(origin.key);
    });
    return s;
  }

  private settle(origin: Origin, err: SessionFailure | null, got?: H2Session | 'http/1.1'): void {
    const waiting = this.pending.get(origin.key) ?? [];
    this.pending.delete(origin.key);
    for (const w of waiting) w(err, got);
  }

  /** Closes the idle sessions to one server (a failure suggests the rest are dead too). */
  dropIdle(key: string): void {
    for (const s of this.sessions.get(key) ?? []) if (s.usable) s.retire();
  }

  /** `force`: every session is destroyed; otherwise streams under way finish first. */
  close(force: boolean): void {
    this.closed = true;
    for (const list of this.sessions.values()) for (const s of [...list]) (force ? s.session.destroy() : s.retire());
    if (force) this.sessions.clear();
  }
}
