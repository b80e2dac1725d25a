import type { LoadBalancerConfig } from '../dynamic/model';
import type { Dispatch, Exchange } from '../proxy/exchange';
import { FORWARDER_DEFAULTS, Forwarder, UpstreamFailure } from '../proxy/forwarder';
import type { Transport } from '../proxy/transport';
import { requestError } from '../errors';
import { duration } from '../config/decode';
import { SmoothWeightedRoundRobin } from './wrr';
import { ServerState } from './server-state';
import { HealthChecker } from './health-check';
import { StickyCookie } from './sticky';
import type { Logger } from '../log/logger';

const AVAILABLE = (s: ServerState): boolean => s.available();
const HEALTHY = (s: ServerState): boolean => s.healthy;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** A request whose body has not been read can be sent again. */
function replayable(ex: Exchange): boolean {
  const { headers, method } = ex.req;
  const noBody = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
  return noBody && IDEMPOTENT.has(method ?? '') && !ex.res.headersSent;
}

/**
 * A `loadBalancer` service: smooth WRR over its servers, active health
 * checks, passive ejection after connection failures, sticky cookie. An
 * idempotent request without a body that a server refused or dropped
 * before answering (a replica scaled down or killed, a keep-alive socket
 * the backend just closed) is sent to the next server instead of failing.
 */
export class LoadBalancer {
  readonly servers: ServerState[];
  private readonly wrr: SmoothWeightedRoundRobin<ServerState>;
  private readonly forwarder: Forwarder;
  private readonly health?: HealthChecker;
  private readonly sticky?: StickyCookie;
  /** Servers by cookie value: made for a sticky service only (a table of 10,000 services would hold 10,000 empty maps). */
  private readonly stickyIndex?: Map<string, ServerState>;

  /**
   * Forwards, upgrades and checks health through `transport` (its
   * serversTransport's). `previous`: the balancer this one replaces; servers
   * it shares keep their health verdict.
   */
  constructor(name: string, cfg: LoadBalancerConfig, transport: Transport, log: Logger, onHealthChange: () => void, previous?: LoadBalancer) {
    this.servers = cfg.servers.map((s) => {
      const state = new ServerState(s.url, s.weight ?? 1);
      if (previous?.servers.find((p) => p.url === s.url)?.healthy === false && cfg.healthCheck) state.checkFailed();
      return state;
    });
    this.wrr = new SmoothWeightedRoundRobin(this.servers.map((s) => ({ item: s, weight: s.weight })));
    const flush = cfg.responseForwarding?.flushInterval;
    // Traefik: a negative flushInterval flushes at once.
    const flushIntervalMs = flush === undefined ? FORWARDER_DEFAULTS.flushIntervalMs : flush.trim().startsWith('-') ? 0 : duration(flush, `services.${name}.loadBalancer.responseForwarding.flushInterval`);
    if (cfg.healthCheck) this.health = new HealthChecker(cfg.healthCheck, this.servers, transport, log.child({ service: name }), onHealthChange);
    if (cfg.sticky?.cookie) {
      this.sticky = new StickyCookie(cfg.sticky.cookie, name);
      this.stickyIndex = new Map(this.servers.map((s) => [StickyCookie.valueFor(s.url), s]));
    }
    const preserved = cfg.servers.filter((s) => s.preservePath).map((s) => s.url);
    // Last: the forwarder takes a share of the transport that only close() gives back, so nothing may throw after it.
    this.forwarder = new Forwarder(transport, { passHostHeader: cfg.passHostHeader ?? FORWARDER_DEFAULTS.passHostHeader, flushIntervalMs }, preserved.length ? new Set(preserved) : undefined);
  }

  start(): void {
    this.health?.start();
  }

  /**
   * Stops health checks and gives the transport back. In-flight requests
   * keep their sockets; `force` (shutdown) destroys every socket once no
   * other balancer uses the transport.
   */
  close(force = false): void {
    this.health?.close();
    this.forwarder.close(force);
  }

  serverStatus(): Record<string, 'UP' | 'DOWN'> {
    return Object.fromEntries(this.servers.map((s) => [s.url, s.available() ? 'UP' : 'DOWN']));
  }

  /**
   * Serves `ex`, then calls `done` once: with nothing when the response was
   * handed off, with the error otherwise (see Dispatch).
   */
  readonly serve: Dispatch = (ex, done) => {
    // Allocated only when a server failed: most requests are served by their first pick.
    let tried: ServerState[] | undefined;
    let pinned = this.pinnedServer(ex);
    let last: unknown;
    let attempt = 0;
    const next = (): void => {
      // When every server is passively ejected, try them anyway rather than answer 503 (panic mode):
      // an ejection is a guess from one failure, an active health check's verdict is not.
      const skip = tried;
      const server =
        attempt++ > this.servers.length
          ? undefined
          : (pinned ??
            (skip
              ? (this.wrr.next((s) => s.available() && !skip.includes(s)) ?? this.wrr.next((s) => s.healthy && !skip.includes(s)))
              : (this.wrr.next(AVAILABLE) ?? this.wrr.next(HEALTHY))));
      if (!server) return done(last ?? requestError('NO_SERVER', 'no available server'));
      if (this.sticky && server !== pinned) this.sticky.write(ex.res, StickyCookie.valueFor(server.url));
      pinned = undefined;
      ex.serverUrl = server.url;
      const settled = (err?: unknown): void => {
        if (err === undefined) {
          server.connectionSucceeded();
          return done();
        }
        last = err;
        if (!(err instanceof UpstreamFailure)) return done(err);
        if (err.notConnected) server.connectionFailed();
        if (err.staleSocket) this.forwarder.dropIdle(server.url);
        // Resent when the server was never reached, a stale keep-alive socket failed, or the connection broke
        // before any response (a replica killed mid-request: RFC 9110 9.2.2, nginx's `proxy_next_upstream error`).
        // A response timeout is not resent: that would double the load on a slow service.
        const again = (err.notConnected || err.staleSocket || err.code === 'UPSTREAM_REFUSED') && !ex.upgrade && replayable(ex);
        if (!again) return done(err);
        if (!err.staleSocket) (tried ??= []).push(server);
        next();
      };
      if (ex.upgrade) this.forwarder.upgrade(ex, ex.upgrade.socket, ex.upgrade.head, server.url).then(() => settled(), settled);
      else this.forwarder.forward(ex, server.url, settled);
    };
    try {
      next();
    } catch (err) {
      done(err);
    }
  };

  private pinnedServer(ex: Exchange): ServerState | undefined {
    if (!this.sticky) return undefined;
    const value = this.sticky.read(ex.req);
    const server = value === undefined ? undefined : this.stickyIndex?.get(value);
    return server?.available() ? server : undefined;
  }
}
