import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Exchange } from './exchange';
import { upgradeRefusal } from '../server/respond';
import { UpstreamCall, UpstreamFailure } from './upstream-call';
import { Origin, UpstreamPool, parseOrigin } from './upstream-pool';

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
  /** SNI and certificate name for TLS servers; default the URL's host name (none for an IP). */
  serverName?: string;
  /** PEM CA certificates that replace the system's for TLS servers. */
  rootCAs?: string[];
  /** How long a response head that arrived alone waits for its body; 0 sends it at once. */
  flushIntervalMs: number;
}

export const FORWARDER_DEFAULTS: ForwarderOptions = {
  passHostHeader: true,
  dialTimeoutMs: 30_000,
  responseHeaderTimeoutMs: 60_000,
  idleConnTimeoutMs: 4_000,
  maxIdleConnsPerHost: 64,
  insecureSkipVerify: false,
  // Traefik's default `responseForwarding.flushInterval`.
  flushIntervalMs: 100,
};

/**
 * Forwards one service's exchanges. Plain requests go through Portier's own
 * pooled HTTP/1.1 client (upstream-call.ts): Node's http client and
 * http-proxy's piping cost more than half of the gateway's CPU (docs/benchmarks.md).
 * WebSocket upgrades go through http-proxy, whose socket splicing is all an
 * upgraded connection needs; both sockets are tied so either closing closes
 * the other, and no socket error ever escapes.
 */
export class Forwarder {
  private readonly proxy: httpProxy;
  private readonly pool: UpstreamPool;
  private readonly upgrades = new WeakMap<http.IncomingMessage, () => void>();
  /** Per server URL, parsed once. */
  private readonly origins = new Map<string, Origin>();
  private readonly wsAgents = new Map<string, https.Agent>();

  /** `preservePath`: the server URLs whose path is prepended to requests (Traefik's `preservePath: true`). */
  constructor(
    private readonly opts: ForwarderOptions,
    private readonly preservePath: ReadonlySet<string> = new Set(),
  ) {
    this.pool = new UpstreamPool({
      maxIdlePerOrigin: opts.maxIdleConnsPerHost,
      idleTimeoutMs: opts.idleConnTimeoutMs,
      tls: { rejectUnauthorized: !opts.insecureSkipVerify, servername: opts.serverName, ca: opts.rootCAs },
    });
    this.proxy = httpProxy.createProxyServer({ xfwd: false, changeOrigin: !opts.passHostHeader, secure: !opts.insecureSkipVerify });
    this.proxy.on('proxyReqWs', (proxyReq, req, socket) => this.onUpgraded(proxyReq, req, socket));
    // http-proxy rethrows when no listener is attached; every call passes its own callback too.
    this.proxy.on('error', () => undefined);
  }

  /** Forwards `ex` to `target`; `done` once, with an UpstreamFailure while nothing was written to the client. */
  forward(ex: Exchange, target: string, done: (err?: Error) => void): void {
    new UpstreamCall(ex, this.originOf(target), this.pool, this.opts, done).start();
  }

  private originOf(target: string): Origin {
    let origin = this.origins.get(target);
    if (!origin) this.origins.set(target, (origin = parseOrigin(target, this.preservePath.has(target))));
    return origin;
  }

  /** Proxies an upgraded connection (WebSocket); errors close both sockets and never escape. */
  upgrade(ex: Exchange, socket: Duplex, head: Buffer, target: string): Promise<void> {
    const { req } = ex;
    req.url = ex.query ? `${ex.path}?${ex.query}` : ex.path;
    // From here the socket carries the upgraded protocol, not the response object's HTTP.
    if (ex.res.socket) ex.res.detachSocket(ex.res.socket);
    return new Promise<void>((resolve, reject) => {
      this.upgrades.set(req, resolve);
      this.proxy.ws(req, socket, head, this.wsOptions(target), (err: Error) => {
        if (this.upgrades.has(req)) {
          this.upgrades.delete(req);
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
   * An `https` server's WebSocket goes through the same TLS checks as its
   * requests (CAs, server name); without an agent Node would send the
   * client's Host as SNI and trust only the system's CAs.
   */
  private wsOptions(target: string): httpProxy.ServerOptions {
    const origin = this.originOf(target);
    if (!origin.tls) return { target };
    let agent = this.wsAgents.get(target);
    if (!agent) {
      const servername = this.opts.serverName ?? (net.isIP(origin.host) ? undefined : origin.host);
      agent = new https.Agent({ keepAlive: false, servername, ca: this.opts.rootCAs, rejectUnauthorized: !this.opts.insecureSkipVerify });
      this.wsAgents.set(target, agent);
    }
    return { target, agent };
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

  /** Closes the idle keep-alive connections to `target` (see UpstreamPool.dropIdle). */
  dropIdle(target: string): void {
    this.pool.dropIdle(target);
  }

  close(): void {
    this.pool.close();
    for (const agent of this.wsAgents.values()) agent.destroy();
    this.proxy.close();
  }

  /** A failed upgrade never reached a backend that answered: like a refused connection. */
  private failure(err: Error): UpstreamFailure {
    return new UpstreamFailure('UPSTREAM_REFUSED', 502, true, false, err);
  }
}

export { UpstreamFailure };
