import type http from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Exchange } from './exchange';
import { upgradeRefusal } from '../server/respond';
import { isH2Response } from '../server/node-response';
import { CallOptions, UpstreamCall, UpstreamFailure } from './upstream-call';
import type { Origin } from './upstream-pool';
import { TRANSPORT_DEFAULTS, Transport } from './transport';
import { UpstreamH2Call } from './h2-call';

/** What a service sets for its own forwarding; the rest is its transport's. */
export interface ForwarderOptions {
  passHostHeader: boolean;
  /** How long a response head that arrived alone waits for its body; 0 sends it at once. */
  flushIntervalMs: number;
}

/** The static serversTransport's defaults and a service's: where the gateway's configuration starts. */
export const FORWARDER_DEFAULTS = {
  ...TRANSPORT_DEFAULTS,
  passHostHeader: true,
  // Traefik's default `responseForwarding.flushInterval`.
  flushIntervalMs: 100,
};

/** Servers whose path is not prepended: most services. */
const NONE: ReadonlySet<string> = new Set();

/** Call options by their values: services that forward alike share one object (10,000 services, a handful of distinct ones). */
const CALLS = new Map<string, CallOptions>();
function sharedCall(call: CallOptions): CallOptions {
  const key = `${call.passHostHeader} ${call.flushIntervalMs} ${call.dialTimeoutMs} ${call.responseHeaderTimeoutMs}`;
  let shared = CALLS.get(key);
  if (!shared) CALLS.set(key, (shared = Object.freeze(call)));
  return shared;
}

/**
 * Forwards one service's exchanges. Plain requests go through Portier's own
 * pooled HTTP/1.1 client (upstream-call.ts): Node's http client and
 * http-proxy's piping cost more than half of the gateway's CPU (docs/benchmarks.md);
 * `h2c:` servers, and `https:` ones whose ALPN picks h2, get a stream of a
 * pooled HTTP/2 session (h2-call.ts).
 * WebSocket upgrades go through http-proxy, whose socket splicing is all an
 * upgraded connection needs; both sockets are tied so either closing closes
 * the other, and no socket error ever escapes.
 */
export class Forwarder {
  /** Made on the first upgrade: most services never see one, and a table of 10,000 would hold 10,000. */
  private proxy?: httpProxy;
  private readonly changeOrigin: boolean;
  /** The same for every call: a forwarded request allocates no options. */
  private readonly call: CallOptions;
  private upgradesMade?: WeakMap<http.IncomingMessage, () => void>;
  /** Per server URL, parsed once, on its first request. */
  private origins?: Map<string, Origin>;
  private closed = false;

  /**
   * Takes a share of `transport` until close(). `preservePath`: the server
   * URLs whose path is prepended to requests (Traefik's `preservePath: true`).
   */
  constructor(
    private readonly transport: Transport,
    opts: ForwarderOptions,
    private readonly preservePath: ReadonlySet<string> = NONE,
  ) {
    transport.retain();
    const { dialTimeoutMs, responseHeaderTimeoutMs } = transport.options;
    this.call = sharedCall({ passHostHeader: opts.passHostHeader, flushIntervalMs: opts.flushIntervalMs, dialTimeoutMs, responseHeaderTimeoutMs });
    // No TLS options here: the transport's agent sets them (wsOptions).
    this.changeOrigin = !opts.passHostHeader;
  }

  private upgrades(): WeakMap<http.IncomingMessage, () => void> {
    return (this.upgradesMade ??= new WeakMap());
  }

  private wsProxy(): httpProxy {
    if (this.proxy) return this.proxy;
    this.proxy = httpProxy.createProxyServer({ xfwd: false, changeOrigin: this.changeOrigin });
    this.proxy.on('proxyReqWs', (proxyReq, req, socket) => this.onUpgraded(proxyReq, req, socket));
    // http-proxy rethrows when no listener is attached; every call passes its own callback too.
    this.proxy.on('error', () => undefined);
    return this.proxy;
  }

  /** Forwards `ex` to `target`; `done` once, with an UpstreamFailure while nothing was written to the client. */
  forward(ex: Exchange, target: string, done: (err?: Error) => void): void {
    const origin = this.originOf(target);
    const { h2, pool } = this.transport;
    if (!h2.speaksH2(origin)) return new UpstreamCall(ex, origin, pool, this.call, done).start();
    new UpstreamH2Call(ex, origin, h2, this.call, done, () => new UpstreamCall(ex, origin, pool, this.call, done).start()).start();
  }

  private originOf(target: string): Origin {
    const origins = (this.origins ??= new Map());
    let origin = origins.get(target);
    if (!origin) origins.set(target, (origin = this.transport.origin(target, this.preservePath.has(target))));
    return origin;
  }

  /** Proxies an upgraded connection (WebSocket); errors close both sockets and never escape. */
  upgrade(ex: Exchange, socket: Duplex, head: Buffer, target: string): Promise<void> {
    const { req } = ex;
    req.url = ex.query ? `${ex.path}?${ex.query}` : ex.path;
    // From here the socket carries the upgraded protocol, not the response object's HTTP.
    // (A WebSocket over HTTP/2 has a stream of its own for socket, and a response that is not bound to it.)
    if (ex.res.socket && !isH2Response(ex.res)) ex.res.detachSocket(ex.res.socket);
    return new Promise<void>((resolve, reject) => {
      this.upgrades().set(req, resolve);
      this.wsProxy().ws(req, socket, head, this.wsOptions(target), (err: Error) => {
        if (this.upgrades().has(req)) {
          this.upgrades().delete(req);
          const failure = this.failure(err);
          // http-proxy ends the client's socket right after this callback, before a rejection could be
          // answered: the refusal goes out now (an upgrade is never resent to another server).
          socket.end(upgradeRefusal(failure.status ?? 502));
          reject(failure);
        } else socket.destroy();
      });
    });
  }

  /**
   * A WebSocket goes through the same transport as its server's requests:
   * without its agent, Node would send the client's Host as SNI and trust
   * only the system's CAs.
   */
  private wsOptions(target: string): httpProxy.ServerOptions {
    return { target, agent: this.transport.agent(this.originOf(target).tls) };
  }

  /** Ties the two sockets of an upgraded connection together: either closing closes the other. */
  private onUpgraded(proxyReq: http.ClientRequest, req: http.IncomingMessage, socket: Duplex): void {
    proxyReq.once('upgrade', (_res: http.IncomingMessage, proxySocket: Duplex) => {
      const resolve = this.upgrades().get(req);
      this.upgrades().delete(req);
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

  /** Closes the idle keep-alive connections to `target` (see UpstreamPool.dropIdle). */
  dropIdle(target: string): void {
    this.transport.pool.dropIdle(target);
    this.transport.h2.dropIdle(target);
  }

  /** Gives the transport back (Transport.release): `force` destroys connections still in use. */
  close(force: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.proxy?.close();
    this.transport.release(force);
  }

  /** A failed upgrade never reached a backend that answered: like a refused connection. */
  private failure(err: Error): UpstreamFailure {
    return new UpstreamFailure('UPSTREAM_REFUSED', true, false, err);
  }
}

export { UpstreamFailure };
