import net from 'node:net';
import tls from 'node:tls';
import { ResponseParser } from './response-parser';

/** Where one server URL's requests go, parsed once per server. */
export interface Origin {
  /** The server URL as configured: the pool key. */
  readonly key: string;
  readonly tls: boolean;
  /** An `h2c://` server: HTTP/2 in plaintext with prior knowledge (h2-sessions.ts), never this pool. */
  readonly h2c: boolean;
  readonly host: string;
  readonly port: number;
  /** `Host` sent when the client's is not passed on: host and non-default port, as in the URL. */
  readonly hostHeader: string;
  /** With `preservePath`: the server URL's path without its trailing slash, prepended to every request's path; else empty. */
  readonly basePath: string;
}

export function parseOrigin(url: string, preservePath = false): Origin {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  return {
    key: url,
    tls: secure,
    h2c: u.protocol === 'h2c:',
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port) || (secure ? 443 : 80),
    hostHeader: u.host,
    basePath: preservePath ? u.pathname.replace(/\/+$/, '') : '',
  };
}

/** What a connection reports to the request it currently carries. */
export interface ConnectionUser {
  onConnected(): void;
  /** The socket's write buffer emptied: a paused request body may resume. */
  onDrain(): void;
  /** Called after each batch of bytes has gone through the parser. */
  onBatchEnd(): void;
  /** The connection failed or closed; `err` says how. */
  onConnectionError(err: Error): void;
  /** The connection's deadline passed (see UpstreamPool.setDeadline). */
  onDeadline(): void;
}

/** How long before a server's own idle close (its Keep-Alive timeout) a connection stops being reused. */
const KEEP_ALIVE_MARGIN_MS = 500;

/** How late past its deadline a connection's user may hear of it. */
export const DEADLINE_RESOLUTION_MS = 20;

/**
 * One upstream socket with its response parser. A connection carries one
 * request at a time; its listeners are installed once, so a reused
 * connection costs no listener churn per request.
 */
export class UpstreamConnection {
  readonly parser = new ResponseParser();
  user: ConnectionUser | null = null;
  connected = false;
  /** Has carried a request before the current one. */
  reused = false;
  /** While idle: when it must no longer be reused (ms since the epoch). */
  idleUntil = 0;
  /** When the current user stops waiting (ms since the epoch); 0: it is not waiting. */
  deadline = 0;

  constructor(
    readonly origin: Origin,
    readonly socket: net.Socket,
    private readonly pool: UpstreamPool,
    /** A socket connected already: a TLS connection whose ALPN chose HTTP/1.1 (see UpstreamPool.adopt). */
    connected = false,
  ) {
    socket.setNoDelay(true);
    this.connected = connected;
    if (!connected) {
      socket.once(origin.tls ? 'secureConnect' : 'connect', () => {
        this.connected = true;
        this.user?.onConnected();
      });
    }
    // A plain connection reads into READ_BUFFER (see acquire); a TLS one gets its own buffers as 'data'.
    if (origin.tls) socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('drain', () => this.user?.onDrain());
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => {
      this.pool.forget(this);
      this.fail(resetError('upstream connection closed'));
    });
  }

  destroy(): void {
    this.user = null;
    this.socket.destroy();
  }

  /** `n` bytes arrived in READ_BUFFER (plain connections); true: keep reading (Node's `onread` contract). */
  onRead(n: number): boolean {
    this.onData(READ_BUFFER.subarray(0, n));
    return true;
  }

  /**
   * Bytes from the socket. For a plain connection they are a view of the
   * shared READ_BUFFER, valid only during this call: the parser and the
   * response sink copy whatever they keep.
   */
  private onData(data: Buffer): void {
    const user = this.user;
    if (!user) {
      // Bytes nobody asked for: the connection's framing can no longer be trusted.
      this.socket.destroy();
      return;
    }
    try {
      this.parser.execute(data);
      user.onBatchEnd();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private onEnd(): void {
    try {
      this.parser.eof();
    } catch {
      // Cut short (a replica killed, a keep-alive close racing our request): a broken connection, which the
      // balancer may resend while nothing reached the client, not a malformed response.
      return this.fail(resetError('upstream closed the connection before the response was complete'));
    }
    this.socket.destroy();
  }

  private fail(err: Error): void {
    const user = this.user;
    this.user = null;
    this.socket.destroy();
    user?.onConnectionError(err);
  }
}

const resetError = (message: string): Error => Object.assign(new Error(message), { code: 'ECONNRESET' });

/**
 * Every plain upstream socket reads into this one buffer (Node's `onread`):
 * its callbacks run one at a time and nothing keeps a view past one, so
 * a read allocates nothing. Reading through 'data' events allocated a 64 KiB
 * buffer per read and cost about 2 µs of the gateway's 23 per request
 * (docs/benchmarks.md).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export interface PoolOptions {
  maxIdlePerOrigin: number;
  /** An idle connection is never reused after this long; 0 keeps idle connections open. */
  idleTimeoutMs: number;
  /** TLS options for a new connection to `host` (its transport's: trust, client certificates, server name). */
  tlsFor(host: string): tls.ConnectionOptions;
}

/**
 * Keep-alive connections per origin, most recently used first (the warmest
 * socket, and the rest age out). Idle connections are closed before
 * `idleTimeoutMs`, so a reuse never races the backend's own idle close.
 *
 * A connection that receives bytes nobody asked for is retired: after its
 * response's end in the same read (the parser reports it not reusable),
 * or at any time while it is idle (UpstreamConnection.onData). Bytes that
 * only arrive once the connection carries its next request cannot be told
 * from that request's answer, as HTTP/1.1 pairs answers with requests by
 * order alone: a backend that sends an extra response with Nagle on, held
 * back until this side's delayed ACK rides on the next request, shifts the
 * answers on that connection while it is reused. Go's and nginx's pools
 * share this; the fix is the backend's.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly all = new Set<UpstreamConnection>();
  private sweeper?: NodeJS.Timeout;
  private deadlines?: NodeJS.Timeout;

  constructor(private readonly opts: PoolOptions) {}

  acquire(origin: Origin): UpstreamConnection {
    const list = this.idle.get(origin.key);
    if (list) {
      const now = Date.now();
      for (let conn = list.pop(); conn; conn = list.pop()) {
        if (conn.idleUntil > now && !conn.socket.destroyed) {
          conn.reused = true;
          return conn;
        }
        conn.destroy();
      }
    }
    const socket: net.Socket = origin.tls
      ? tls.connect({ host: origin.host, port: origin.port, ...this.opts.tlsFor(origin.host), ALPNProtocols: ['http/1.1'] })
      : net.connect({ host: origin.host, port: origin.port, onread: { buffer: READ_BUFFER, callback: (n) => conn.onRead(n) } });
    socket.setKeepAlive(true, 1000);
    const conn: UpstreamConnection = new UpstreamConnection(origin, socket, this);
    this.all.add(conn);
    return conn;
  }

  /**
   * Takes in a TLS connection made to find out whether a server speaks
   * HTTP/2 (h2-sessions.ts), whose ALPN chose HTTP/1.1: the next request
   * uses it rather than paying for a second handshake.
   */
  adopt(origin: Origin, socket: tls.TLSSocket): void {
    socket.setKeepAlive(true, 1000);
    const conn = new UpstreamConnection(origin, socket, this, true);
    this.all.add(conn);
    this.release(conn);
  }

  /**
   * Gives `conn`'s user a deadline `ms` from now (dial, response head).
   * One coarse check per pool, running only while deadlines are set, rather
   * than a timer armed and cleared for every request: upstream timeouts are
   * seconds, where 20 ms of slack is nothing.
   */
  setDeadline(conn: UpstreamConnection, ms: number): void {
    conn.deadline = Date.now() + ms;
    if (!this.deadlines) this.deadlines = setInterval(() => this.checkDeadlines(), DEADLINE_RESOLUTION_MS).unref();
  }

  private checkDeadlines(): void {
    const now = Date.now();
    let set = 0;
    for (const conn of this.all) {
      if (!conn.deadline) continue;
      if (conn.deadline > now) set++;
      else {
        conn.deadline = 0;
        conn.user?.onDeadline();
      }
    }
    if (!set) {
      clearInterval(this.deadlines);
      this.deadlines = undefined;
    }
  }

  /** Takes back a connection whose last response was complete and reusable. */
  release(conn: UpstreamConnection): void {
    conn.user = null;
    conn.deadline = 0;
    if (conn.socket.destroyed || !conn.parser.idle) return conn.destroy();
    let list = this.idle.get(conn.origin.key);
    if (!list) this.idle.set(conn.origin.key, (list = []));
    // A server that says how long it keeps an idle connection (Node's `Keep-Alive: timeout=5`) closes it then:
    // retired half a second before, a reuse never races that close, which a request with a body cannot survive.
    const serverMs = conn.parser.keepAliveMs ? Math.max(0, conn.parser.keepAliveMs - KEEP_ALIVE_MARGIN_MS) : Infinity;
    conn.idleUntil = Date.now() + Math.min(this.opts.idleTimeoutMs || Infinity, serverMs);
    list.push(conn);
    if (list.length > this.opts.maxIdlePerOrigin) list.shift()!.destroy();
    if (!this.sweeper && this.opts.idleTimeoutMs) {
      const every = Math.max(25, this.opts.idleTimeoutMs / 4);
      this.sweeper = setInterval(() => this.sweep(every), every).unref();
    }
  }

  /** A connection closed: it is gone from the idle lists too. */
  forget(conn: UpstreamConnection): void {
    this.all.delete(conn);
    const list = this.idle.get(conn.origin.key);
    const i = list ? list.indexOf(conn) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  /**
   * Closes the idle connections to one server. Once one was found reset,
   * its siblings are likely dead too (the server restarted or was killed):
   * a retry must dial afresh instead of drawing the next dead socket.
   */
  dropIdle(key: string): void {
    for (const conn of this.idle.get(key)?.splice(0) ?? []) conn.destroy();
  }

  close(): void {
    clearInterval(this.sweeper);
    clearInterval(this.deadlines);
    this.sweeper = undefined;
    this.deadlines = undefined;
    for (const conn of this.all) conn.destroy();
    this.all.clear();
    this.idle.clear();
  }

  /** Runs every quarter of the idle timeout, so no idle socket outlives its limit by more than that. */
  private sweep(every: number): void {
    const limit = Date.now() + every;
    let left = 0;
    for (const list of this.idle.values()) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i].idleUntil <= limit) list.splice(i, 1)[0].destroy();
      left += list.length;
    }
    if (!left) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
