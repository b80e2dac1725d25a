import http, { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import net, { Socket } from 'node:net';
import cluster from 'node:cluster';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { EntryPoint } from '../config/static';
import { Exchange, newOrigin } from '../proxy/exchange';
import type { MatchRequest } from '../rules/types';
import type { RoutingTable } from '../routing/table';
import type { Logger } from '../log/logger';
import type { RequestObserver } from './observer';
import { normalizeHost } from '../rules/routing-path';
import { normalizeTarget, splitTarget } from './normalize';
import { HygieneLimits, inspectPlainRequest, inspectRequest, originForm } from './hygiene';
import { applyForwarded, trustedPeers } from '../proxy/forwarded';
import { stripHopByHop } from '../proxy/hop-by-hop';
import { answerGrpc, isGrpc } from '../proxy/grpc';
import { handshakeServerFor } from '../tls/options-table';
import { PortierError, errorMessage, requestAnswer, requestError } from '../errors';
import { sendError, upgradeRefusal } from './respond';
import { DirectConnection, DirectHost } from './direct-connection';
import type { DirectResponse } from './direct-response';
import type { PlainRequestHead } from './request-head';
import { ConnectionRoutes, peerOf, routeConnection, unmapped } from './connection-router';
import { Accounted, countBody } from './node-response';
import type { Routable } from '../routing/router-index';
import type { ClientHello } from './client-hello';
import { H2Front } from './h2-front';
import type { H2Response } from './h2-response';
import { TcpFront, type TcpConnObserver } from '../tcp/tcp-front';
import type { TcpTable } from '../tcp/tcp-table';
import type { MissAnswer } from './miss-page';

/** A step before routing that may answer the request itself (ACME HTTP-01, HTTP→HTTPS redirection). */
export interface PreRouting {
  answer: (req: IncomingMessage, res: ServerResponse, ex: Exchange) => boolean;
  /** Runs on this entrypoint only; on all without. */
  entryPoint?: string;
  /** Answers only requests whose target starts with this; any request without. */
  pathPrefix?: string;
}

/**
 * What a request served on the direct path has of Node's IncomingMessage:
 * no body, so pausing it (a middleware holding the body while it awaits)
 * has nothing to do.
 */
type DirectRequest = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'rawHeaders' | 'httpVersion' | 'httpVersionMajor' | 'httpVersionMinor' | 'socket' | 'pause'>;

function bodiless(this: DirectRequest): DirectRequest {
  return this;
}

export interface EntryPointOptions {
  name: string;
  cfg: EntryPoint;
  table: () => RoutingTable;
  log: Logger;
  observers: RequestObserver[];
  preRouting: PreRouting[];
  /** TLS server options: present when this entrypoint can terminate TLS (connections that start with a ClientHello). */
  tls?: https.ServerOptions;
  /** The helpful 404 (miss-page.ts): answers a request no router matched, or declines and the plain 404 goes out. */
  miss?: MissAnswer;
  /** TCP routers, asked before HTTP at each step (src/tcp/tcp-front.ts). */
  tcp?: { table: () => TcpTable; observers: TcpConnObserver[] };
}

/**
 * One listening socket, routing connections: each new connection's first
 * bytes decide (connection-router.ts) between a PROXY header, TLS (ended
 * here with the certificate for its SNI) and plaintext; both then reach
 * the same HTTP handling: hygiene checks, normalisation, routing by the
 * current table (TLS routers for TLS connections only), forwarded headers,
 * then the router's compiled handler. Every failure ends the request with
 * a status; none escapes to the process.
 */
export class EntryPointServer implements DirectHost {
  /** The listening socket. */
  readonly listener: net.Server;
  /** Node's HTTP server for plaintext connections (never listens itself: connections are handed to it). */
  readonly server: http.Server;
  /** Node's HTTPS server ending TLS on this entrypoint's connections, when it can. */
  readonly secure?: https.Server;
  private readonly trusted: (ip: string) => boolean;
  private readonly preRouting: PreRouting[];
  private readonly hygiene: HygieneLimits;
  private inFlight = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly direct = new Set<DirectConnection>();
  /** Responses on Node's servers not yet written: told to close their connection when a drain starts. */
  private readonly pending = new Set<ServerResponse>();
  /** Node's own connection handlers, for plaintext and for TLS sockets after the handshake. */
  private readonly nodeConnection: (socket: Socket) => void;
  private readonly nodeSecureConnection?: (socket: TLSSocket) => void;
  private readonly directPath: boolean;
  /** Node's servers: plaintext, and TLS when this entrypoint ends it. */
  private readonly engines: http.Server[];
  /** HTTP/2 connections: TLS ones whose ALPN picked h2, plaintext ones that start with the preface (h2c). */
  private readonly h2: H2Front;
  private readonly routes: ConnectionRoutes;
  private readonly tcp?: TcpFront;
  private idleSweep?: NodeJS.Timeout;
  readonly maxHeadBytes: number;
  readonly maxFields: number;
  readonly keepAliveSeconds: number;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Requests served on the direct path, and connections handed to Node's server from it (tests, diagnostics). */
  readonly directStats = { requests: 0, handOffs: 0 };

  constructor(private readonly opts: EntryPointOptions) {
    const { cfg } = opts;
    const t = cfg.transport.respondingTimeouts;
    this.maxHeadBytes = cfg.http?.maxHeaderBytes ?? 16_384;
    const serverOpts: http.ServerOptions = {
      // Node counts fewer bytes of a head than the limit means (no separators); hygiene.ts counts them all.
      maxHeaderSize: this.maxHeadBytes,
      insecureHTTPParser: false,
      requestTimeout: t.readTimeout,
      // Node refuses a header timeout above the request timeout: the whole request's bound wins.
      headersTimeout: t.readTimeout ? Math.min(t.readHeaderTimeout, t.readTimeout) : t.readHeaderTimeout,
      keepAliveTimeout: t.idleTimeout,
      // Node checks header/request timeouts on this interval; keep it short so the bounds hold.
      connectionsCheckingInterval: 500,
      noDelay: true,
    };
    this.headersTimeoutMs = serverOpts.headersTimeout ?? 0;
    this.idleTimeoutMs = t.idleTimeout;
    this.server = http.createServer(serverOpts);
    // A TLS client that never finishes its handshake is a slowloris too: same bound as the headers (Node: 120 s).
    if (opts.tls) this.secure = https.createServer({ ...serverOpts, handshakeTimeout: this.headersTimeoutMs || 120_000, ...opts.tls });
    this.engines = this.secure ? [this.server, this.secure] : [this.server];
    this.h2 = new H2Front({
      maxConcurrentStreams: cfg.http2.maxConcurrentStreams,
      maxHeaderBytes: this.maxHeadBytes,
      maxHeaderCount: cfg.http?.maxHeaderCount ?? 100,
      idleTimeoutMs: t.idleTimeout,
      log: opts.log,
      serve: (req, res) => this.serveH2(req as IncomingMessage, res),
      request: (req, res, expectsContinue) => this.handle(req, countBody(res, req.method === 'HEAD'), this.exchange(req, res, undefined, undefined, true), expectsContinue),
      upgrade: (req, res, socket) => this.handle(req, countBody(res, false), this.exchange(req, res, { socket, head: Buffer.alloc(0) }, undefined, true)),
    });
    this.listener = net.createServer({ noDelay: true });
    if (cfg.transport.maxConnections) this.listener.maxConnections = cfg.transport.maxConnections;
    this.trusted = trustedPeers(cfg.forwardedHeaders.trustedIPs, cfg.forwardedHeaders.insecure, `entryPoints.${opts.name}.forwardedHeaders.trustedIPs`);
    const pp = cfg.proxyProtocol;
    const proxyTrusted = pp ? trustedPeers(pp.trustedIPs, pp.insecure, `entryPoints.${opts.name}.proxyProtocol.trustedIPs`) : () => false;
    this.maxFields = cfg.http?.maxHeaderCount ?? 100;
    this.hygiene = { maxHeaderCount: this.maxFields, maxHeaderBytes: this.maxHeadBytes, dropUnderscoreHeaders: cfg.http?.dropUnderscoreHeaders ?? true, encodedCharacters: cfg.http?.encodedCharacters };
    this.keepAliveSeconds = Math.floor(t.idleTimeout / 1000);
    this.preRouting = opts.preRouting.filter((p) => p.entryPoint === undefined || p.entryPoint === opts.name);
    // The direct path keeps no per-socket write timer and counts no requests per connection: with either
    // bound configured, every connection stays with Node's server.
    this.directPath = !t.writeTimeout && !cfg.transport.keepAliveMaxRequests;
    for (const engine of this.engines) {
      engine.maxHeadersCount = 0;
      if (t.writeTimeout) engine.setTimeout(t.writeTimeout);
      if (cfg.transport.keepAliveMaxRequests) engine.maxRequestsPerSocket = cfg.transport.keepAliveMaxRequests;
      engine.on('request', (req, res) => this.onRequest(req, res));
      // Node would answer `Expect: 100-continue` before any check; a rejected request must not invite its body.
      engine.on('checkContinue', (req, res) => this.onRequest(req, res, true));
      engine.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    }
    [this.nodeConnection] = this.server.listeners('connection') as ((socket: Socket) => void)[];
    if (this.secure) {
      const secure = this.secure;
      [this.nodeSecureConnection] = secure.listeners('secureConnection') as ((socket: TLSSocket) => void)[];
      secure.off('secureConnection', this.nodeSecureConnection);
      secure.on('secureConnection', (socket: TLSSocket) => this.opened(socket, 'https', secure, undefined, socket.alpnProtocol === 'h2'));
      secure.on('tlsClientError', (err, socket) => this.refused(socket as Socket, `TLS handshake failed: ${err.message}`));
    }
    if (opts.tcp) {
      this.tcp = new TcpFront({
        entryPoint: opts.name, table: opts.tcp.table, tls: opts.tls, log: opts.log, handshakeTimeoutMs: this.headersTimeoutMs, mayRouteAtAccept: !pp, observers: opts.tcp.observers,
      });
    }
    this.routes = {
      proxyTrusted,
      firstBytesTimeoutMs: this.headersTimeoutMs,
      plain: (socket, first) => this.tcp?.plain(socket, first) || this.opened(socket, 'http', null, first),
      h2c: (socket, first) => this.tcp?.plain(socket, first) || this.opened(socket, 'http', null, first, true),
      tls: (socket, hello, first) => this.startTls(socket, hello, first),
      refused: (socket, reason) => this.refused(socket, reason),
    };
    this.listener.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      if (this.tcp?.accept(socket)) return;
      routeConnection(socket, this.routes);
    });
  }

  /**
   * TCP routers (HostSNI, passthrough) choose first; every other
   * ClientHello is answered here, with the certificate for its SNI (the
   * default one when none matches), or refused when this entrypoint has no
   * TLS at all.
   */
  private startTls(socket: Socket, hello: ClientHello, first: Buffer): void {
    if (this.tcp?.tls(socket, hello, first)) return;
    if (!this.secure) return this.refused(socket, `TLS ClientHello (SNI ${JSON.stringify(hello.serverName)}) on an entrypoint without TLS`);
    // Node's TLS socket reads what the raw socket has buffered before its own handle: the hello goes first.
    socket.pause();
    socket.unshift(first);
    // The router's TLS options for this name (versions, client certificates) apply from the first byte of the handshake.
    handshakeServerFor(this.secure, hello.serverName).emit('connection', socket);
  }

  private refused(socket: Socket, reason: string): void {
    this.opts.log.debug('connection refused', { peer: socket.remoteAddress, reason });
    socket.destroy();
  }

  /**
   * A connection ready for HTTP (plaintext, or TLS once its handshake is
   * done): HTTP/2 goes to its front end; HTTP/1 to the direct path, or to
   * Node's server when the entrypoint keeps every connection there.
   */
  private opened(socket: Socket, protocol: 'http' | 'https', secure: https.Server | null, first?: Buffer, h2 = false): void {
    const { observers, name } = this.opts;
    if (observers.length) {
      for (const o of observers) o.connectionOpened?.(name, protocol);
      socket.once('close', () => {
        for (const o of observers) o.connectionClosed?.(name, protocol);
      });
    }
    socket.setNoDelay(true);
    if (h2) return this.h2.accept(socket, first);
    if (!this.directPath) return this.toNode(socket, first ?? null, secure !== null);
    this.direct.add(new DirectConnection(socket, this, first));
    if (!this.idleSweep && (this.headersTimeoutMs || this.idleTimeoutMs)) this.startIdleSweep();
  }

  handOff(socket: Socket, unread: Buffer | null): void {
    this.directStats.handOffs++;
    this.toNode(socket, unread, (socket as TLSSocket).encrypted === true);
  }

  private toNode(socket: Socket, unread: Buffer | null, encrypted: boolean): void {
    if (encrypted) this.nodeSecureConnection!.call(this.secure, socket as TLSSocket);
    else this.nodeConnection.call(this.server, socket);
    // Node's parser reads the socket's handle from now on; these bytes came before, so they go first.
    if (unread) socket.emit('data', unread);
    if (socket.isPaused()) socket.resume();
  }

  released(conn: DirectConnection): void {
    this.direct.delete(conn);
  }

  /**
   * The header and idle timeouts of direct connections waiting for a
   * request, checked on a quarter of the shorter one (at most every 500 ms,
   * as Node checks its own): one timer for all, none per request.
   */
  private startIdleSweep(): void {
    const shortest = Math.min(...[this.headersTimeoutMs, this.idleTimeoutMs].filter((ms) => ms > 0));
    const every = Math.max(50, Math.min(500, shortest / 4));
    this.idleSweep = setInterval(() => {
      const now = Date.now();
      for (const conn of this.direct) if (conn.deadline && conn.deadline <= now) conn.closeIfIdle();
      if (!this.direct.size) {
        clearInterval(this.idleSweep);
        this.idleSweep = undefined;
      }
    }, every).unref();
  }

  /**
   * The direct front end's request (request-head.ts), once it passed the
   * same hygiene: served here when its router is plain (RouterRuntime.plain),
   * or when no router matches (a 404), since then nothing reads more of the
   * request and the response than DirectRequest and DirectResponse provide.
   * Anything else goes to Node's server, from the request's first byte.
   */
  serve(head: PlainRequestHead, res: DirectResponse, socket: Socket): boolean {
    for (const p of this.preRouting) if (p.pathPrefix === undefined || head.url.startsWith(p.pathPrefix)) return false;
    const req: DirectRequest = {
      method: head.method, url: head.url, headers: head.headers, rawHeaders: head.rawHeaders,
      httpVersion: '1.1', httpVersionMajor: 1, httpVersionMinor: 1, socket, pause: bodiless as IncomingMessage['pause'],
    };
    // Sound by the reasoning above: a plain route reads nothing else of either object.
    const ex = this.exchange(req as IncomingMessage, res as unknown as ServerResponse, undefined, head);
    if (ex instanceof Error) return false;
    const router = this.route(ex);
    if (router && !router.plain) return false;
    this.directStats.requests++;
    this.track(ex, res, 0);
    this.dispatch(ex, router);
    return true;
  }

  /**
   * A plain HTTP/2 stream (h2-front.ts): served here, as serve() serves a
   * direct request, when its router is plain or none matches; a request
   * hygiene refuses is answered here too. Anything else goes to Node's
   * compatibility API, from the stream's start.
   */
  private serveH2(req: IncomingMessage, res: H2Response): boolean {
    for (const p of this.preRouting) if (p.pathPrefix === undefined || req.url!.startsWith(p.pathPrefix)) return false;
    // Sound by the reasoning of serve(): a plain route reads nothing else of either object.
    const response = res as unknown as ServerResponse & Accounted;
    const ex = this.exchange(req, response, undefined, undefined, true);
    if (ex instanceof Error) {
      this.handle(req, response, ex);
      return true;
    }
    const router = this.route(ex);
    if (router && !router.plain) return false;
    this.track(ex, res, 0);
    this.dispatch(ex, router);
    return true;
  }

  /** Stopping: responses say `Connection: close` (read by direct connections too). */
  get draining(): boolean {
    return this.stopping;
  }

  get name(): string {
    return this.opts.name;
  }

  listen(): Promise<{ host: string; port: number }> {
    const { host, port } = parseAddress(this.opts.cfg.address);
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      // A worker of a group (docs/workers.md) shares the socket with the others, through the primary.
      this.listener.listen({ host, port, exclusive: !cluster.isWorker }, () => {
        this.listener.off('error', reject);
        // Node's HTTP servers start tracking connections (header and request timeouts, closeIdleConnections)
        // on their 'listening' event; they never listen themselves, so they hear it from the listener.
        for (const e of this.engines) e.emit('listening');
        const addr = this.listener.address();
        resolve(typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host: host ?? '', port });
      });
    });
  }

  /** The port listened on; before (or without: a group's primary, whose workers listen) the configured one. */
  get port(): number {
    const addr = this.listener.address();
    return typeof addr === 'object' && addr ? addr.port : parseAddress(this.opts.cfg.address).port;
  }

  /**
   * Graceful stop: refuse new connections, close idle keep-alives, let
   * in-flight requests finish within `graceMs`, then cut what is left.
   */
  async close(graceMs: number): Promise<void> {
    // Traefik's requestAcceptGraceTimeout: keep serving new requests a while (ping already answers 503),
    // so a load balancer in front notices before connections are refused.
    const acceptFor = this.opts.cfg.transport.lifeCycle.requestAcceptGraceTimeout;
    if (acceptFor > 0) await new Promise((resolve) => setTimeout(resolve, acceptFor));
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    // A response already under way when the drain began says `Connection: close` too.
    for (const res of this.pending) if (!res.headersSent) res.shouldKeepAlive = false;
    const engines = this.engines;
    for (const e of engines) e.closeIdleConnections();
    for (const conn of this.direct) conn.closeIfIdle();
    this.h2.drain();
    clearInterval(this.idleSweep);
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    for (const e of engines) {
      e.closeAllConnections();
      // Stops Node's connection checks; the servers never listened, so this only ends their tracking.
      e.close();
    }
    this.h2.destroy();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** `direct`: from the direct path, with what its reader saw (see PlainRequestHead.forwarded); `h2`: from the HTTP/2 front end. */
  private exchange(req: IncomingMessage, res: ServerResponse, upgrade?: Exchange['upgrade'], direct?: { forwarded: boolean }, h2 = false): Exchange | Error {
    const rejection = direct ? inspectPlainRequest(req, this.hygiene) : inspectRequest(req, this.hygiene, h2);
    if (rejection) return new PortierError(rejection.code, rejection.reason);
    const target = req.url === '*' ? { path: '*', query: '' } : splitTarget(originForm(req.url ?? '/'));
    const path = target.path === '*' ? '*' : normalizeTarget(target.path);
    if (path === null) return new PortierError('BAD_REQUEST', 'invalid request target');
    const absolute = req.url?.startsWith('/') ? null : /^https?:\/\/([^/?#]+)/i.exec(req.url ?? '');
    const remoteIp = peerOf(req.socket)?.address ?? unmapped(req.socket.remoteAddress);
    const tls = (req.socket as TLSSocket).encrypted === true;
    // The direct path's reader has left hop-by-hop fields out already (and its Connection names none).
    if (!direct) stripHopByHop(req.headers, upgrade !== undefined);
    const clientIp = applyForwarded(req.headers, { remoteIp, tls, localPort: req.socket.localPort ?? 0, trusted: this.trusted(remoteIp) }, direct?.forwarded ?? true);
    const match: MatchRequest = {
      host: normalizeHost(absolute ? absolute[1] : req.headers.host ?? ''),
      path,
      method: req.method ?? 'GET',
      headers: req.headers,
      query: target.query,
      clientIp: remoteIp,
    };
    return {
      req, res, entryPoint: this.opts.name, tls, remoteIp, clientIp, match,
      path, query: target.query, startedAt: this.opts.observers.length ? process.hrtime.bigint() : 0n, retryAttempts: 0, responseHooks: [], origin: newOrigin(), upgrade, fieldsAsParsed: false,
    };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    if (this.draining) res.shouldKeepAlive = false;
    else {
      this.pending.add(res);
      res.once('close', () => this.pending.delete(res));
    }
    this.handle(req, countBody(res, req.method === 'HEAD'), this.exchange(req, res), expectsContinue);
  }

  /** Node's front ends (HTTP/1 and HTTP/2), for requests and upgrades: reject, or run the pre-routing steps, then the one dispatch. */
  private handle(req: IncomingMessage, res: ServerResponse & Accounted, ex: Exchange | Error, expectsContinue = false): void {
    this.track(ex instanceof Error ? undefined : ex, res, Number(req.headers['content-length']) || 0);
    if (ex instanceof Error) {
      const { status, text } = requestAnswer(ex);
      sendError(res, status, text, true);
      return;
    }
    if (this.bodyTooLarge(req, res)) return;
    if (expectsContinue) res.writeContinue();
    for (const step of this.preRouting) if (step.answer(req, res, ex)) return;
    this.dispatch(ex, this.route(ex));
  }

  /**
   * `http.maxRequestBodyBytes`: a Content-Length above it is answered 413
   * before anything is forwarded; a chunked body (HTTP/2: one without
   * Content-Length) that grows past it aborts the connection (HTTP/2: the
   * stream) mid-stream (and with it the upstream request), since its
   * head may already be on its way to the backend. Counted in `push`, so
   * the body is never read here (no flowing before the proxy pipes it).
   */
  private bodyTooLarge(req: IncomingMessage, res: ServerResponse): boolean {
    const limit = this.opts.cfg.http?.maxRequestBodyBytes;
    if (!limit) return false;
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      const { status, text } = requestAnswer(requestError('BODY_TOO_LARGE'));
      sendError(res, status, text, true);
      return true;
    }
    if (req.headers['transfer-encoding'] !== undefined) {
      let received = 0;
      const push = req.push.bind(req);
      req.push = (chunk: Buffer | null, encoding?: BufferEncoding): boolean => {
        received += chunk?.length ?? 0;
        if (received <= limit) return push(chunk, encoding);
        req.destroy();
        return false;
      };
    }
    return false;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    // Answered here instead of proxied (404, auth, redirect): the connection ends with the response.
    res.once('finish', () => {
      if (res.socket) socket.end();
    });
    const protocol = String(req.headers.upgrade ?? '').toLowerCase();
    // Only WebSocket upgrades are proxied; h2c and others are refused by serving the request as plain HTTP/1.1.
    const isWebSocket = protocol === 'websocket';
    if (!isWebSocket) {
      delete req.headers.upgrade;
      delete req.headers['http2-settings'];
    }
    this.handle(req, countBody(res, false), this.exchange(req, res, isWebSocket ? { socket, head } : undefined));
  }

  private route(ex: Exchange): Routable | undefined {
    return this.opts.table().match(ex.entryPoint, ex.tls, ex.match);
  }

  /** The one request path after the front ends: the router's dispatch, every failure through fail(). */
  private dispatch(ex: Exchange, router: Routable | undefined): void {
    if (!router) {
      if (this.opts.miss?.(ex, this.opts.table())) return;
      return this.fail(ex, requestError('NO_ROUTE'));
    }
    ex.routerName = router.name;
    ex.serviceName = router.service;
    ex.fieldsAsParsed = router.middlewares.length === 0;
    router.dispatch(ex, (err) => {
      if (err !== undefined) this.fail(ex, err);
    });
  }

  /** Every request error's answer, from the catalogue (src/errors.ts); after the head went out, a cut connection. */
  private fail(ex: Exchange, err: unknown): void {
    const { status, text } = requestAnswer(err);
    if (status >= 500) this.opts.log.debug('request failed', { router: ex.routerName, server: ex.serverUrl, status, error: errorMessage(err) });
    if (ex.upgrade && !ex.res.socket) {
      if (!ex.upgrade.socket.writableEnded) ex.upgrade.socket.end(upgradeRefusal(status));
      return;
    }
    if (ex.res.headersSent) ex.res.destroy();
    // A gRPC client reads a failure from grpc-status (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED), not from an HTTP status.
    else if (isGrpc(ex.req)) answerGrpc(ex.res, status, text);
    else sendError(ex.res, status, text);
  }

  /**
   * Counts a request in flight until its response closes, and then reports
   * it to the observers, the same for every front end: body bytes as the
   * response counted them (an upgraded connection: what was relayed to the
   * client), `bytesIn` from Content-Length (a body is never read here).
   */
  private track(ex: Exchange | undefined, res: Accounted & { on(event: 'close', listener: () => void): unknown }, bytesIn: number): void {
    this.inFlight++;
    const observed = this.opts.observers.length > 0;
    const started = ex?.startedAt || (observed ? process.hrtime.bigint() : 0n);
    const upgraded = ex?.upgrade?.socket as Socket | undefined;
    // The bytesWritten getter copies the socket's write queue: read it only when someone records it.
    const relayedBefore = upgraded && observed ? upgraded.bytesWritten : 0;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      if (ex && observed) {
        const bytesOut = upgraded ? Math.max(0, upgraded.bytesWritten - relayedBefore) : res.bodyBytes;
        const record = { ex, status: res.statusCode, bytesIn, bytesOut, durationMs: Number(process.hrtime.bigint() - started) / 1e6, aborted: !res.writableFinished };
        for (const o of this.opts.observers) o.requestEnded(record);
      }
      if (this.inFlight === 0 && this.draining) for (const w of this.idleWaiters.splice(0)) w();
    };
    res.on('close', end);
    // An upgraded connection outlives its response object: it ends when its socket closes.
    upgraded?.once('close', end);
  }
}

export function parseAddress(address: string): { host?: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host || undefined, port: Number(address.slice(i + 1)) };
}
