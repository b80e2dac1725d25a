import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { parse as parseUrl } from 'node:url';
import httpProxy from 'http-proxy';
import type { Exchange } from './exchange';
import { requestError, PortierError } from '../errors';
import { stripHopByHop } from './hop-by-hop';

export interface ForwarderOptions {
  passHostHeader: boolean;
  /** Connect timeout; 504 when exceeded. */
  dialTimeoutMs: number;
  /** From request sent to response headers; 0 = none. 504 when exceeded. */
  responseHeaderTimeoutMs: number;
  /** Idle keep-alive sockets are closed after this, before a backend's own idle timeout would race a reuse. */
  idleConnTimeoutMs: number;
  maxIdleConnsPerHost: number;
  insecureSkipVerify: boolean;
}

export const FORWARDER_DEFAULTS: ForwarderOptions = {
  passHostHeader: true,
  dialTimeoutMs: 30_000,
  responseHeaderTimeoutMs: 60_000,
  idleConnTimeoutMs: 4_000,
  maxIdleConnsPerHost: 64,
  insecureSkipVerify: false,
};

/** Why a forward failed before anything was written: lets the balancer choose to retry elsewhere. */
export class UpstreamFailure extends PortierError {
  constructor(
    code: 'UPSTREAM_REFUSED' | 'UPSTREAM_TIMEOUT',
    status: number,
    /** The server was never reached (refused, dial timeout): safe to try another for any request. */
    readonly notConnected: boolean,
    /** A reused keep-alive socket was reset before any response (the backend closed it first). */
    readonly staleSocket: boolean,
    cause: unknown,
  ) {
    super(code, `${code === 'UPSTREAM_TIMEOUT' ? 'upstream timed out' : 'bad gateway'}`, { status, cause });
  }
}

interface Flight {
  ex: Exchange;
  timedOut?: 'dial' | 'response';
  connected: boolean;
  reused: boolean;
  timer?: NodeJS.Timeout;
  upstream?: http.ClientRequest;
}

// The flight rides on the request itself: a WeakMap entry per request made every young-generation GC walk
// an ephemeron table, which cost about a fifth of the proxy's CPU under load (npm run bench).
const FLIGHT = Symbol('portier.flight');
type InFlight = http.IncomingMessage & { [FLIGHT]?: Flight };

/**
 * Forwards exchanges to one service's servers with http-proxy, hardened the
 * way production needs: one keep-alive agent per service, an error path for
 * every socket, client aborts tear down the upstream request (http-proxy
 * leaks it otherwise), upstream timeouts mapped to 504, and response hooks run
 * before headers go out.
 */
export class Forwarder {
  private readonly proxy: httpProxy;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly upgrades = new WeakMap<http.IncomingMessage, () => void>();
  /** Per server URL, parsed once: given a string, http-proxy would url.parse it on every request. */
  private readonly targets = new Map<string, httpProxy.ServerOptions>();

  constructor(private readonly opts: ForwarderOptions) {
    const agentOpts = { keepAlive: true, maxFreeSockets: opts.maxIdleConnsPerHost, timeout: opts.idleConnTimeoutMs, scheduling: 'lifo' as const };
    this.httpAgent = new http.Agent(agentOpts);
    this.httpsAgent = new https.Agent({ ...agentOpts, rejectUnauthorized: !opts.insecureSkipVerify });
    this.proxy = httpProxy.createProxyServer({ xfwd: false, changeOrigin: !opts.passHostHeader, secure: !opts.insecureSkipVerify });
    this.proxy.on('proxyReq', (proxyReq, req) => this.onProxyReq(proxyReq, req));
    this.proxy.on('proxyRes', (proxyRes, req) => this.onProxyRes(proxyRes, req));
    this.proxy.on('proxyReqWs', (proxyReq, req, socket) => this.onUpgraded(proxyReq, req, socket));
    // http-proxy rethrows when no listener is attached; every call passes its own callback too.
    this.proxy.on('error', () => undefined);
  }

  forward(ex: Exchange, target: string): Promise<void> {
    const { req, res } = ex;
    req.url = ex.query ? `${ex.path}?${ex.query}` : ex.path;
    const flight: Flight = { ex, connected: false, reused: false };
    (req as InFlight)[FLIGHT] = flight;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(flight.timer);
        if (err) reject(err);
        else resolve();
      };
      res.once('close', () => {
        // The client left: http-proxy only reacts to 'aborted', which Node no longer emits reliably.
        if (!res.writableFinished) flight.upstream?.destroy();
        done();
      });
      res.once('finish', () => done());
      this.proxy.web(req, res, this.webOptions(target), (err: NodeJS.ErrnoException) => {
        if (res.headersSent) {
          // Headers are out: the only honest signal left is to abort the client's response.
          res.destroy(err);
          done();
          return;
        }
        done(this.failure(flight, err));
      });
    });
  }

  /** Proxies an upgraded connection (WebSocket); errors close both sockets and never escape. */
  upgrade(ex: Exchange, socket: Duplex, head: Buffer, target: string): Promise<void> {
    const { req } = ex;
    req.url = ex.query ? `${ex.path}?${ex.query}` : ex.path;
    // From here the socket carries the upgraded protocol, not the response object's HTTP.
    if (ex.res.socket) ex.res.detachSocket(ex.res.socket);
    return new Promise<void>((resolve, reject) => {
      this.upgrades.set(req, resolve);
      this.proxy.ws(req, socket, head, { target }, (err: Error) => {
        if (this.upgrades.has(req)) {
          this.upgrades.delete(req);
          reject(this.failure({ ex, connected: false, reused: false }, err));
        } else socket.destroy();
      });
    });
  }

  /** Ties the two sockets of an upgraded connection together: either closing closes the other. */
  private onUpgraded(proxyReq: http.ClientRequest, req: http.IncomingMessage, socket: Duplex): void {
    proxyReq.once('upgrade', (_res: http.IncomingMessage, proxySocket: Duplex) => {
      const resolve = this.upgrades.get(req);
      this.upgrades.delete(req);
      // Half-closed WebSockets mean nothing (they have close frames), and Node's server sockets allow
      // half-open connections: without this, a client that leaves keeps the backend connection open.
      const both = (): void => {
        socket.destroy();
        proxySocket.destroy();
      };
      proxySocket.on('error', both);
      for (const s of [socket, proxySocket]) {
        s.once('end', both);
        s.once('close', both);
      }
      resolve?.();
    });
  }

  private webOptions(target: string): httpProxy.ServerOptions {
    let options = this.targets.get(target);
    if (!options) {
      // The same parser http-proxy applies to a string target, so the request it builds is unchanged.
      options = { target: parseUrl(target), agent: target.startsWith('https:') ? this.httpsAgent : this.httpAgent };
      this.targets.set(target, options);
    }
    return options;
  }

  /**
   * Closes the idle keep-alive sockets to `target`. Once one was found reset,
   * its siblings are likely dead too (the server restarted or was killed):
   * a retry must dial afresh instead of drawing the next dead socket.
   */
  dropIdle(target: string): void {
    const url = new URL(target);
    const https = url.protocol === 'https:';
    const prefix = `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || (https ? 443 : 80)}:`;
    const free = (https ? this.httpsAgent : this.httpAgent).freeSockets;
    for (const [name, sockets] of Object.entries(free)) if (name.startsWith(prefix)) for (const s of sockets ?? []) s.destroy();
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.proxy.close();
  }

  private onProxyReq(proxyReq: http.ClientRequest, req: http.IncomingMessage): void {
    const flight = (req as InFlight)[FLIGHT];
    if (!flight) return;
    flight.upstream = proxyReq;
    const arm = (kind: 'dial' | 'response', ms: number): void => {
      clearTimeout(flight.timer);
      if (ms <= 0) return;
      flight.timer = setTimeout(() => {
        flight.timedOut = kind;
        proxyReq.destroy(new Error(`${kind} timeout`));
      }, ms);
    };
    // http-proxy emits 'proxyReq' from inside the request's 'socket' event, so the socket is already here.
    const socket = proxyReq.socket;
    if (!socket) return;
    flight.reused = proxyReq.reusedSocket;
    let responded = false;
    const connected = (): void => {
      flight.connected = true;
      clearTimeout(flight.timer);
      // As Go's ResponseHeaderTimeout: counted from the end of the request body, so a slow
      // upload is bounded by the entrypoint's readTimeout, not answered 504 half-way.
      const armResponse = (): void => {
        if (!responded) arm('response', this.opts.responseHeaderTimeoutMs);
      };
      if (proxyReq.writableFinished) armResponse();
      else proxyReq.once('finish', armResponse);
    };
    if ((socket as { connecting?: boolean }).connecting) {
      arm('dial', this.opts.dialTimeoutMs);
      socket.once('connect', connected);
    } else connected();
    proxyReq.once('response', () => {
      responded = true;
      clearTimeout(flight.timer);
    });
  }

  private onProxyRes(proxyRes: http.IncomingMessage, req: http.IncomingMessage): void {
    const flight = (req as InFlight)[FLIGHT];
    if (!flight) return;
    stripHopByHop(proxyRes.headers, false);
    // Without this, http-proxy writes `Connection: keep-alive` (the client's Connection header is stripped
    // as hop-by-hop by then), which makes Node keep a connection that the client, a drain or
    // keepAliveMaxRequests (Node's maxRequestsOnConnectionReached) asked to close.
    const res = flight.ex.res as http.ServerResponse & { maxRequestsOnConnectionReached?: boolean };
    const close = !res.shouldKeepAlive || res.maxRequestsOnConnectionReached === true || /close/i.test(String(res.getHeader('connection') ?? ''));
    proxyRes.headers.connection = close ? 'close' : 'keep-alive';
    // http-proxy leaves the client waiting forever when the upstream dies mid-body: abort the client side too.
    proxyRes.once('close', () => {
      if (!proxyRes.complete) flight.ex.res.destroy();
    });
    const status = proxyRes.statusCode ?? 502;
    for (const hook of flight.ex.responseHooks) hook(status, proxyRes.headers, flight.ex);
  }

  private failure(flight: Flight, err: NodeJS.ErrnoException): UpstreamFailure {
    if (flight.timedOut) return new UpstreamFailure('UPSTREAM_TIMEOUT', 504, flight.timedOut === 'dial', false, err);
    const notConnected = !flight.connected || err.code === 'ECONNREFUSED';
    const stale = flight.reused && err.code === 'ECONNRESET';
    return new UpstreamFailure('UPSTREAM_REFUSED', 502, notConnected, stale, err);
  }
}

export { requestError };
