import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Exchange } from './exchange';
import { ResponseHead, ResponseSink, TOKEN, headersOf, protocolError } from './response-parser';
import type { ConnectionUser, Origin, UpstreamConnection, UpstreamPool } from './upstream-pool';
import { CONNECTION_SPECIFIC, dropNamedFields } from './hop-by-hop';
import { isH2Response } from '../server/node-response';
import { PlainResponse } from '../server/plain-response';
import { readsTrailers } from './trailers';
import { PortierError, errorMessage } from '../errors';

/** Why a forward failed before anything was written: lets the balancer choose to retry elsewhere. */
export class UpstreamFailure extends PortierError {
  constructor(
    code: 'UPSTREAM_REFUSED' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_INVALID',
    /** The server was never reached (refused, dial timeout): safe to try another for any request. */
    readonly notConnected: boolean,
    /** A reused keep-alive socket closed before any response (the backend closed it first). */
    readonly staleSocket: boolean,
    cause: unknown,
  ) {
    super(code, code === 'UPSTREAM_TIMEOUT' ? 'upstream timed out' : code === 'UPSTREAM_INVALID' ? (cause as Error).message : 'bad gateway', { cause });
  }
}

export interface CallOptions {
  passHostHeader: boolean;
  dialTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  flushIntervalMs: number;
}

// What Node's own parser guarantees for client-sent fields, checked again because middlewares add fields too.
const UNSAFE_VALUE = /[\0\r\n]/;
const UNSAFE_TARGET = /[\0-\x20\x7f]/;
const EMPTY = Buffer.alloc(0);
const EVENT_STREAM = /^text\/event-stream/i;

/** The field at `i` (a name's index in a name/value list) repeats one before it. */
function repeated(fields: readonly string[], i: number): boolean {
  for (let j = 0; j < i; j += 2) if (fields[j] === fields[i]) return true;
  return false;
}

/**
 * The upstream's fields onto the client's response, as the parser admitted
 * them. The backend's value replaces one set before forwarding, except
 * Set-Cookie: a sticky cookie joins the backend's cookies.
 */
function copyFields(res: ServerResponse, fields: readonly string[], h2: boolean): void {
  const own = res instanceof PlainResponse ? res : undefined;
  if (own && !h2 && own.receiveAll(fields)) return;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (h2 && CONNECTION_SPECIFIC.has(name)) continue;
    const append = name === 'set-cookie' || repeated(fields, i);
    if (own) {
      if (append) own.appendReceived(name, fields[i + 1]);
      else own.setReceived(name, fields[i + 1]);
    } else if (append) res.appendHeader(name, fields[i + 1]);
    else res.setHeader(name, fields[i + 1]);
  }
}

/** copyFields, for a head whose fields were rebuilt as an object (its Connection named more hop-by-hop ones). */
function copyHeaders(res: ServerResponse, headers: IncomingHttpHeaders, h2: boolean): void {
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || (h2 && CONNECTION_SPECIFIC.has(name))) continue;
    if (name === 'set-cookie') res.appendHeader(name, value);
    else res.setHeader(name, value);
  }
}

/** A Connection value that names no other field (the usual one). */
const BARE_CONNECTION = /^(?:keep-alive|close)$/i;

/** The request line and header block sent upstream, with the bytes the client sent (latin1 round-trips them). */
function requestHead(ex: Exchange, origin: Origin, passHostHeader: boolean): string {
  const { req } = ex;
  const headers = req.headers;
  const target = ex.path === '*' ? '*' : origin.basePath + (ex.query ? `${ex.path}?${ex.query}` : ex.path);
  if (UNSAFE_TARGET.test(target)) throw protocolErrorForRequest(`request target ${JSON.stringify(target)}`);
  let head = `${req.method} ${target} HTTP/1.1\r\n`;
  if (!passHostHeader || headers.host === undefined) head += `host: ${origin.hostHeader}\r\n`;
  // A direct exchange's fields passed the plain-head reader and no middleware added any: checked already.
  const check = !ex.fieldsAsParsed;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || (name === 'host' && !passHostHeader)) continue;
    if (check && !TOKEN.test(name)) throw protocolErrorForRequest(`header name ${JSON.stringify(name)}`);
    if (typeof value === 'string') {
      if (check && UNSAFE_VALUE.test(value)) throw protocolErrorForRequest(`header ${name}`);
      head += `${name}: ${value}\r\n`;
    } else {
      for (const v of value) {
        if (UNSAFE_VALUE.test(v)) throw protocolErrorForRequest(`header ${name}`);
        head += `${name}: ${v}\r\n`;
      }
    }
  }
  return `${head}\r\n`;
}

const protocolErrorForRequest = (what: string): UpstreamFailure =>
  new UpstreamFailure('UPSTREAM_INVALID', false, false, new Error(`cannot forward: invalid ${what}`));

/**
 * One request forwarded over one pooled connection: the head and body go
 * up, the response streams back through the exchange's response (its
 * hooks run before the head goes out). Calls `done` exactly once: with
 * an UpstreamFailure while nothing was written to the client, with nothing
 * otherwise. A client that leaves tears the upstream connection down; a
 * connection is pooled again only after a complete, reusable exchange.
 */
export class UpstreamCall implements ResponseSink, ConnectionUser {
  private conn: UpstreamConnection | null = null;
  /** The flush interval's timer (a head waiting for its body). */
  private timer?: NodeJS.Timeout;
  /** What the connection's deadline is set for, if it is. */
  private waiting: 'dial' | 'response' | undefined;
  private timedOut: 'dial' | 'response' | undefined;
  /** The response head, received and not yet written to the client. */
  private head: ResponseHead | null = null;
  /** The response head went to the client: from here a failure can only abort the response. */
  private committed = false;
  private paused = false;
  private flushArmed = false;
  private requestSent = false;
  private settled = false;
  /** The first body bytes of a batch, held so that head and body leave in one write when the batch completes the response. */
  private held: Buffer | null = null;
  /** The chunked body's trailer fields, when the client reads them (onTrailers). */
  private trailers: string[] | null = null;
  private onRequestData?: (chunk: Buffer) => void;
  private readonly onClientClose = (): void => this.clientLeft();
  /** Made when the client first pushes back (most responses never do). */
  private onResponseDrain?: () => void;

  constructor(
    private readonly ex: Exchange,
    private readonly origin: Origin,
    private readonly pool: UpstreamPool,
    private readonly opts: CallOptions,
    private readonly done: (err?: Error) => void,
  ) {}

  start(): void {
    const { req, res } = this.ex;
    let request: string;
    try {
      request = requestHead(this.ex, this.origin, this.opts.passHostHeader);
    } catch (err) {
      this.settle(err as Error);
      return;
    }
    if (this.ex.startedAt) this.ex.origin.startedAt = process.hrtime.bigint();
    const conn = (this.conn = this.pool.acquire(this.origin));
    conn.user = this;
    conn.parser.start(this, req.method === 'HEAD');
    // `on`, not `once`: the response is this request's alone and clientLeft() acts only once.
    res.on('close', this.onClientClose);
    if (!conn.connected) this.arm('dial', this.opts.dialTimeoutMs);
    conn.socket.write(request, 'latin1');
    const te = req.headers['transfer-encoding'];
    if (te !== undefined || Number(req.headers['content-length']) > 0) return this.sendBody(te !== undefined);
    this.requestSent = true;
    if (conn.connected) this.arm('response', this.opts.responseHeaderTimeoutMs);
  }

  /** Streams the client's body up, chunk-framed when it came chunked; the client waits while the socket is full. */
  private sendBody(chunked: boolean): void {
    const { req } = this.ex;
    const socket = this.conn!.socket;
    req.on('data', (this.onRequestData = (chunk: Buffer): void => {
      if (!this.conn || chunk.length === 0) return;
      let ok: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else ok = socket.write(chunk);
      if (!ok) req.pause();
    }));
    req.once('end', () => {
      if (!this.conn) return;
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      this.requestSent = true;
      // As Go's ResponseHeaderTimeout: counted from the end of the request body, so a slow
      // upload is bounded by the entrypoint's readTimeout, not answered 504 half-way.
      if (this.conn.connected && !this.head && !this.committed) this.arm('response', this.opts.responseHeaderTimeoutMs);
    });
    // A middleware that waited on something asynchronous may have paused the body (as pipe() would, resume it).
    req.resume();
  }

  onConnected(): void {
    this.disarm();
    if (this.requestSent && !this.head && !this.committed) this.arm('response', this.opts.responseHeaderTimeoutMs);
  }

  onDrain(): void {
    if (!this.requestSent) this.ex.req.resume();
  }

  onHead(head: ResponseHead): void {
    this.disarm();
    // The parser left out the usual hop-by-hop fields (and the response is re-framed to the client); these are
    // the ones the backend named.
    if (head.connection && !BARE_CONNECTION.test(head.connection)) dropNamedFields(head.headers, head.connection);
    this.head = head;
  }

  onBody(chunk: Buffer): void {
    if (this.held !== null) this.write(this.held);
    this.held = chunk;
  }

  onTrailers(fields: string[]): void {
    if (readsTrailers(this.ex)) this.trailers = fields;
  }

  onBatchEnd(): void {
    if (this.held !== null) {
      const chunk = this.held;
      this.held = null;
      this.write(chunk);
    } else if (this.head && !this.flushArmed) {
      // A head alone: its body is usually one read behind, and then both leave in one write (and a connection
      // that dies in between still gets a 502 or a retry). A stream or long poll gets its head within the
      // service's flushInterval, an event stream at once.
      const { flushIntervalMs } = this.opts;
      if (flushIntervalMs <= 0 || EVENT_STREAM.test(this.head.get('content-type') ?? '')) return this.flushHead();
      this.flushArmed = true;
      this.timer = setTimeout(() => this.flushHead(), flushIntervalMs);
    }
  }

  private flushHead(): void {
    if (this.settled || !this.head) return;
    try {
      this.commit();
    } catch (err) {
      return this.abandon(err as Error);
    }
    // Not flushHeaders(): it sends the head as UTF-8, which would re-encode obs-text bytes; a write sends latin1.
    this.ex.res.write(EMPTY);
  }

  onComplete(reusable: boolean): void {
    // Before the head: an HTTP/2 response whose head goes out now then waits for them.
    if (this.trailers) (this.ex.res as { addTrailers?: (t: IncomingHttpHeaders) => void }).addTrailers?.(headersOf(this.trailers));
    if (!this.committed) this.commit(true);
    const conn = this.conn!;
    this.conn = null;
    if (this.paused) {
      // The response is whole; a connection paused for the client's backpressure must not be pooled paused.
      this.ex.res.off('drain', this.onResponseDrain!);
      conn.socket.resume();
    }
    const body = this.held;
    this.held = null;
    if (body) this.ex.origin.bytes += body.length;
    if (reusable && this.requestSent) this.pool.release(conn);
    else conn.destroy();
    this.stopBody();
    // Settled first: the response's close (which ending it may fire at once) then finds nothing to abandon.
    this.settle();
    this.ex.res.end(body ? this.owned(body) : undefined);
  }

  onConnectionError(err: Error): void {
    if (!this.committed) return this.abandon(err);
    // Headers are out: the only honest signal left is to abort the client's response.
    this.conn = null;
    this.stopBody();
    this.ex.res.destroy();
    this.settle();
  }

  /** Gives up on the upstream before the client got anything: the balancer may still answer or resend. */
  private abandon(err: Error): void {
    const conn = this.conn;
    this.conn = null;
    conn?.destroy();
    this.stopBody();
    this.settle(this.failure(err, conn));
  }

  /**
   * Writes the response head to the client with the first body bytes, at
   * completion, or alone after the flush interval: until then a broken
   * response can still be answered 502 (or resent). `complete`: the whole
   * response is here, its trailers too.
   */
  private commit(complete = false): void {
    clearTimeout(this.timer);
    const { ex } = this;
    const head = this.head!;
    const { status, reason } = head;
    this.head = null;
    ex.origin.status = status;
    try {
      const { res } = ex;
      // The parser left the backend's hop-by-hop fields out; what else HTTP/2 refuses (HTTP2-Settings, a
      // middleware's Connection) is dropped for an HTTP/2 client, as an HTTP/1 one gets the response re-framed.
      const h2 = isH2Response(res);
      // Node announces `Connection: close` on a connection's last allowed request (keepAliveMaxRequests) but
      // only closes it when the header is set explicitly.
      if ((res as { maxRequestsOnConnectionReached?: boolean }).maxRequestsOnConnectionReached) res.setHeader('connection', 'close');
      // Set one by one, not passed to writeHead: observers (access log, compress) read them back with getHeader.
      if (head.headersBuilt) copyHeaders(res, head.headers, h2);
      else copyFields(res, head.fields, h2);
      for (const hook of ex.responseHooks) hook(status, res, ex);
      if (h2 && ex.responseHooks.length) for (const name of CONNECTION_SPECIFIC) if (res.getHeader(name) !== undefined) res.removeHeader(name);
      // A chunked body sent on before its end may end with trailers: an HTTP/2 head then waits for them.
      if (h2 && head.chunked && !complete) (res as { expectTrailers?: () => void }).expectTrailers?.();
      // HTTP/2 has no reason phrase (Node warns when given one).
      if (reason && !h2) res.writeHead(status, reason);
      else res.writeHead(status);
    } catch (err) {
      throw protocolError(`response head not accepted: ${errorMessage(err)}`);
    }
    this.committed = true;
  }

  /** Backpressure from the client: the upstream socket stops being read until the response drains. */
  private write(chunk: Buffer): void {
    if (!this.committed) this.commit();
    this.ex.origin.bytes += chunk.length;
    const { res } = this.ex;
    if (!res.write(this.owned(chunk)) && this.conn && !this.paused) {
      this.paused = true;
      this.conn.socket.pause();
      res.once(
        'drain',
        (this.onResponseDrain ??= (): void => {
          this.paused = false;
          this.conn?.socket.resume();
        }),
      );
    }
  }

  /**
   * A body chunk as the response may keep it. Chunks are views of the
   * connection's read buffer (response-parser.ts): Node's response, and
   * middlewares behind it (compress, buffering), may hold one past this
   * call, so they get a copy, unless the response says it never keeps one
   * (DirectResponse.keepsChunks).
   */
  private owned(chunk: Buffer): Buffer {
    return (this.ex.res as { keepsChunks?: boolean }).keepsChunks === false ? chunk : Buffer.from(chunk);
  }

  private clientLeft(): void {
    if (this.settled) return;
    // The client is gone: the upstream connection is mid-exchange and cannot be pooled.
    this.conn?.destroy();
    this.conn = null;
    this.stopBody();
    this.settle();
  }

  private stopBody(): void {
    if (this.onRequestData) this.ex.req.off('data', this.onRequestData);
  }

  private arm(kind: 'dial' | 'response', ms: number): void {
    this.disarm();
    if (ms <= 0 || !this.conn) return;
    this.waiting = kind;
    this.pool.setDeadline(this.conn, ms);
  }

  private disarm(): void {
    if (this.waiting === undefined) return;
    this.waiting = undefined;
    if (this.conn) this.conn.deadline = 0;
  }

  onDeadline(): void {
    const kind = this.waiting;
    this.waiting = undefined;
    if (this.settled || !this.conn || kind === undefined) return;
    this.timedOut = kind;
    this.abandon(new Error(`${kind} timeout`));
  }

  private failure(err: Error, conn: UpstreamConnection | null): UpstreamFailure {
    if (this.timedOut) return new UpstreamFailure('UPSTREAM_TIMEOUT', this.timedOut === 'dial', false, err);
    if (err instanceof PortierError && err.code === 'UPSTREAM_INVALID') return new UpstreamFailure('UPSTREAM_INVALID', false, false, err);
    const connected = conn?.connected ?? false;
    const stale = (conn?.reused ?? false) && conn?.parser.received === 0;
    return new UpstreamFailure('UPSTREAM_REFUSED', !connected || (err as NodeJS.ErrnoException).code === 'ECONNREFUSED', stale, err);
  }

  private settle(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const { origin } = this.ex;
    if (origin.startedAt) origin.durationNs = Number(process.hrtime.bigint() - origin.startedAt);
    this.done(err);
  }
}
