import http2, { Http2ServerRequest, Http2ServerResponse, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger';
import { H2UpgradeSocket, asUpgradeFields } from '../proxy/h2-websocket';
import { H2Response } from './h2-response';

/**
 * Limits of the HTTP/2 front end that are not configurable, documented in
 * docs/http2.md. Windows as Go's server (and so Traefik) sizes them: Node's
 * 64 KiB default caps an upload at one window per round trip.
 */
export const H2_LIMITS = {
  /** SETTINGS_INITIAL_WINDOW_SIZE, and the connection's own receive window. */
  windowBytes: 1 << 20,
  /** Node's default, stated: what one session may hold (HPACK tables, queued frames) before it is refused with ENHANCE_YOUR_CALM. */
  maxSessionMemoryMiB: 10,
  /** Node's defaults, stated: malformed frames, and streams refused for the stream limit, before the session is closed. */
  maxSessionInvalidFrames: 1000,
  maxSessionRejectedStreams: 100,
  /**
   * Portier's own bound on streams a client cancels mid-request within one
   * second (CVE-2023-44487, "rapid reset"): each one has already cost a
   * routed request, often a backend call, while the concurrency limit never
   * fills. Browsers cancel a few on navigation; a flood cancels thousands.
   */
  maxClientResetsPerSecond: 200,
} as const;

export interface H2Options {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (`entryPoints.<n>.http2.maxConcurrentStreams`). */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: `http.maxHeaderBytes`, so a header block is bounded as an HTTP/1 head is. */
  maxHeaderBytes: number;
  /** `http.maxHeaderCount`: Node's own pair limit sits above it, so the entrypoint's hygiene answers 431 first. */
  maxHeaderCount: number;
  /** A session with no stream open for this long is closed with GOAWAY (`respondingTimeouts.idleTimeout`); 0: never. */
  idleTimeoutMs: number;
  log: Logger;
  /**
   * A plain stream (a request without a body, see H2Front): served on the
   * entrypoint's request path with `res`, or declined (false) without
   * touching either, and then served through Node's compatibility API.
   * The request has only regular fields (pseudo-headers left out,
   * `:authority` as Host), as an HTTP/1 request would.
   */
  serve(req: PlainH2Request, res: H2Response): boolean;
  /** Any other stream, through Node's compatibility API, with fields as `serve`'s. */
  request(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void;
  /**
   * A WebSocket over HTTP/2 (RFC 8441): the request as an HTTP/1.1 Upgrade
   * (GET, Upgrade and Connection, a Sec-WebSocket-Key), `socket` the stream
   * as an upgraded connection's socket.
   */
  upgrade(req: IncomingMessage, res: ServerResponse, socket: Duplex): void;
}

/** The four pseudo-headers a request has are names that start with a colon; none is a field to forward. */
const PSEUDO = 0x3a;

/**
 * HTTP/2 on an entrypoint: TLS connections whose ALPN picked `h2` and
 * plaintext ones that start with the HTTP/2 preface (h2c with prior
 * knowledge). Node's HTTP/2 server is the engine; it never listens, the
 * entrypoint hands it connections. Each stream becomes a request on the
 * entrypoint's one path: the adapter here only reshapes the request's
 * fields; hygiene, routing, middlewares, the upstream call, observers and
 * error answers are the same as for HTTP/1.
 */
export class H2Front {
  private readonly engine: http2.Http2Server;
  private readonly sessions = new Map<http2.Http2Session, SessionState>();
  /** The connection being handed to the engine, whose session is made while accept() runs. */
  private accepting?: Socket;
  /** Closes idle sessions (see sweepIdle); runs while there are sessions. */
  private idleSweeper?: NodeJS.Timeout;

  constructor(private readonly opts: H2Options) {
    this.engine = http2.createServer({
      settings: {
        maxConcurrentStreams: opts.maxConcurrentStreams,
        initialWindowSize: H2_LIMITS.windowBytes,
        maxHeaderListSize: opts.maxHeaderBytes,
        // RFC 8441: clients may open WebSockets as streams (extended CONNECT with `:protocol websocket`).
        enableConnectProtocol: true,
      },
      // Pseudo-headers count as pairs for Node; the margin leaves the excess to hygiene's 431.
      maxHeaderListPairs: opts.maxHeaderCount + 8,
      maxSessionMemory: H2_LIMITS.maxSessionMemoryMiB,
      maxSessionInvalidFrames: H2_LIMITS.maxSessionInvalidFrames,
      maxSessionRejectedStreams: H2_LIMITS.maxSessionRejectedStreams,
    });
    this.engine.on('session', (session: ServerHttp2Session) => this.opened(session));
    // The engine's own listener on every session passes each stream here: one listener per stream event, none added per session.
    this.engine.on('stream', (stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => this.streamOpened(stream, headers, rawHeaders));
    // A session's failure (a protocol error, a flood Node cut off) ends that connection only.
    this.engine.on('sessionError', (err: Error, session: ServerHttp2Session) => opts.log.debug('HTTP/2 session failed', { peer: session.socket?.remoteAddress, error: err.message }));
  }

  /**
   * One stream: a request without a body (its HEADERS ended the stream, no
   * Content-Length, no Expect, not CONNECT) is offered to the entrypoint
   * as it is, with an H2Response on the stream itself; the entrypoint
   * serves it when its router is plain (or none matches), as the direct
   * path does for HTTP/1.1. Anything else, and what the entrypoint
   * declines, gets Node's compatibility request and response, dispatched
   * as Node's server would (CONNECT, Expect).
   */
  private onStream(state: SessionState, stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): H2Response | undefined {
    const method = headers[':method']!;
    if (stream.endAfterHeaders && method !== 'CONNECT' && headers.expect === undefined && headers['content-length'] === undefined) {
      const res = new H2Response(stream, method === 'HEAD');
      if (this.opts.serve(plainRequest(state.socket, headers, rawHeaders, method), res)) return res;
    }
    const req = new Http2ServerRequest(stream, headers, {}, rawHeaders);
    const res = new Http2ServerResponse(stream);
    if (method === 'CONNECT') return this.connect(req, res);
    const expect = headers.expect;
    // As Node's server: a request that hygiene or routing rejects must not invite its body, and other expectations fail.
    if (expect === undefined || expect === '100-continue') this.opts.request(asExchangeRequest(req), res as unknown as ServerResponse, expect !== undefined);
    else {
      res.statusCode = 417;
      res.end();
    }
    return undefined;
  }

  /** Node answers a CONNECT 405 on its own; only WebSocket tunnels are served. */
  private connect(req: Http2ServerRequest, res: Http2ServerResponse): undefined {
    if (req.headers[':protocol'] !== 'websocket') {
      res.statusCode = 405;
      res.end();
      return;
    }
    // The compatibility API's setter writes :method, which every reader of the request goes through.
    (req as { method: string }).method = 'GET';
    const upgrade = asExchangeRequest(req);
    asUpgradeFields(upgrade.headers);
    this.opts.upgrade(upgrade, res as unknown as ServerResponse, new H2UpgradeSocket(req.stream));
  }

  /**
   * A connection that speaks HTTP/2 from here: a TLS socket after its
   * handshake, or a plaintext one whose `first` bytes (the preface) were
   * read by the connection router; Node's session reads what the socket
   * has buffered before its handle.
   */
  accept(socket: Socket, first?: Buffer): void {
    if (first) {
      socket.pause();
      socket.unshift(first);
    }
    this.accepting = socket;
    try {
      this.engine.emit('connection', socket);
    } finally {
      this.accepting = undefined;
    }
  }

  /** Draining: every session gets GOAWAY; its streams under way finish, the client opens new ones elsewhere. */
  drain(): void {
    for (const s of this.sessions.keys()) s.close();
  }

  /** The end of the grace period: whatever is left is cut. */
  destroy(): void {
    for (const s of this.sessions.keys()) s.destroy();
  }

  private opened(session: ServerHttp2Session): void {
    const state: SessionState = { session, socket: this.accepting!, open: 0, idleSince: Date.now(), resets: 0, resetsSince: 0 };
    this.sessions.set(session, state);
    session.once('close', () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.stopSweeping();
    });
    // Errors reach 'sessionError' too; this listener only keeps an unhandled 'error' from being thrown.
    session.on('error', () => {});
    session.setLocalWindowSize(H2_LIMITS.windowBytes);
    const { idleTimeoutMs } = this.opts;
    if (idleTimeoutMs && !this.idleSweeper) this.idleSweeper = setInterval(() => this.sweepIdle(), Math.min(IDLE_RESOLUTION_MS, idleTimeoutMs)).unref();
  }

  private streamOpened(stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    const state = this.sessions.get(stream.session!);
    // Its session went down (a flood cut off) before Node emitted the stream, which went down with it.
    if (!state) return void stream.destroy();
    state.open++;
    // Node's compatibility objects listen for errors themselves; a stream served plain would throw one unheard.
    stream.on('error', ignore);
    const res = this.onStream(state, stream, headers, rawHeaders);
    // `on`: 'close' comes once.
    stream.on('close', () => {
      if (--state.open === 0) state.idleSince = Date.now();
      // 'aborted': reset before the response ended (by the client, or a session going down).
      if (stream.aborted) this.clientReset(state);
      res?.closeOnce();
    });
  }

  /** CVE-2023-44487: past maxClientResetsPerSecond within a second, the session is cut. */
  private clientReset(state: SessionState): void {
    const { session } = state;
    if (session.destroyed) return;
    const now = Date.now();
    if (now - state.resetsSince >= 1000) {
      state.resetsSince = now;
      state.resets = 0;
    }
    if (++state.resets <= H2_LIMITS.maxClientResetsPerSecond) return;
    // The code goes in destroy's final GOAWAY (a goaway() first would be superseded); the error is logged as any session's.
    session.destroy(new Error(`more than ${H2_LIMITS.maxClientResetsPerSecond} streams reset by the client within a second`), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  }

  /**
   * Sessions with no stream open for idleTimeoutMs get GOAWAY, as Go's
   * server (so Traefik) counts idleness: frames without a stream (PING,
   * SETTINGS) are not activity. One coarse check for every session rather
   * than Node's per-session timer, which every frame and every stream's
   * response re-arms.
   */
  private sweepIdle(): void {
    const since = Date.now() - this.opts.idleTimeoutMs;
    for (const state of this.sessions.values()) if (state.open === 0 && state.idleSince <= since && !state.session.closed) state.session.close();
  }

  private stopSweeping(): void {
    clearInterval(this.idleSweeper);
    this.idleSweeper = undefined;
  }
}

/** How late past idleTimeoutMs an idle session may be closed. */
const IDLE_RESOLUTION_MS = 1000;

/** What the front end keeps of one session. */
interface SessionState {
  readonly session: ServerHttp2Session;
  /**
   * The connection itself: `session.socket` is Node's guard proxy, whose
   * every property read (the exchange reads the peer's address, port and
   * TLS) goes through a trap; a plain stream's request is only read.
   */
  readonly socket: Socket;
  /** Streams open, and since when none is. */
  open: number;
  idleSince: number;
  /** Streams reset by the client within the second from resetsSince. */
  resets: number;
  resetsSince: number;
}

const ignore = (): void => undefined;

/**
 * What a plain stream's request has of Node's IncomingMessage (as the
 * direct path's request): no body, so pausing it (a middleware holding
 * the body while it awaits) has nothing to do; `authority` as the
 * compatibility request's, which hygiene compares with Host.
 */
export type PlainH2Request = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'rawHeaders' | 'httpVersion' | 'httpVersionMajor' | 'httpVersionMinor' | 'socket' | 'pause'> & { authority?: string };

function bodiless(this: PlainH2Request): PlainH2Request {
  return this;
}

function plainRequest(socket: Socket, given: http2.IncomingHttpHeaders, givenRaw: string[], method: string): PlainH2Request {
  const { headers, raw } = exchangeFields(given, givenRaw, true);
  const authority = given[':authority'];
  return {
    method, url: given[':path'], authority, headers, rawHeaders: raw,
    httpVersion: '2.0', httpVersionMajor: 2, httpVersionMinor: 0, socket, pause: bodiless as IncomingMessage['pause'],
  };
}

/**
 * The fields as the exchange reads them: without pseudo-headers (the
 * upstream head takes only tokens as names, and middlewares see what an
 * HTTP/1 request would have), and `:authority` as Host when the client sent
 * no Host. When both Host and `:authority` came, hygiene checks they agree.
 * A body without Content-Length (HTTP/2 frames it, and Node refuses a
 * client's Transfer-Encoding) is what HTTP/1 calls chunked: so marked, it
 * goes to the backend chunked and `maxRequestBodyBytes` counts it as it
 * arrives.
 */
function exchangeFields(given: IncomingHttpHeaders, givenRaw: string[], endAfterHeaders: boolean): { headers: IncomingHttpHeaders; raw: string[] } {
  const headers: IncomingHttpHeaders = {};
  for (const name in given) if (name.charCodeAt(0) !== PSEUDO) headers[name] = given[name] as string | string[];
  const raw: string[] = [];
  for (let i = 0; i < givenRaw.length; i += 2) if (givenRaw[i].charCodeAt(0) !== PSEUDO) raw.push(givenRaw[i], givenRaw[i + 1]);
  const authority = given[':authority'];
  if (typeof authority === 'string' && headers.host === undefined) {
    headers.host = authority;
    raw.push('host', authority);
  }
  if (!endAfterHeaders && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
  return { headers, raw };
}

/** The compatibility request with exchangeFields' fields; method and URL stay Node's getters, read from the pseudo-headers. */
function asExchangeRequest(req: Http2ServerRequest): IncomingMessage {
  const { headers, raw } = exchangeFields(req.headers, req.rawHeaders, req.stream.endAfterHeaders);
  Object.defineProperties(req, {
    headers: { value: headers, writable: true, configurable: true, enumerable: true },
    rawHeaders: { value: raw, writable: true, configurable: true, enumerable: true },
  });
  return req as unknown as IncomingMessage;
}
