import http from 'node:http';
import https from 'node:https';
import type { HealthCheckConfig } from '../dynamic/model';
import { duration } from '../config/decode';
import type { ServerState } from './server-state';
import type { Logger } from '../log/logger';
import type { Transport } from '../proxy/transport';
import { h2Request } from '../proxy/h2-probe';

/** grpc.health.v1.HealthCheckRequest{} (the server as a whole), as one gRPC message: no compression, length 0. */
const GRPC_HEALTH_REQUEST = Buffer.alloc(5);
/** HealthCheckResponse.status (field 1, varint) SERVING. */
const SERVING = 1;

const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Go's client keeps these only while redirects stay on the first host. */
const SENSITIVE = ['authorization', 'www-authenticate', 'cookie', 'cookie2'];

/**
 * Active health checks, Traefik's semantics: GET `path` on each server every
 * `interval` (30s), a server that failed every `unhealthyInterval` (default:
 * `interval`), `timeout` (5s) for the whole check; redirects are followed
 * (at most 10) unless `followRedirects: false`; healthy on 2xx/3xx or exactly
 * `status` when set. A server that fails is taken out and checked on; it
 * comes back on the first pass. An `https` check goes through the service's
 * transport, so a certificate that forwarding refuses fails the check too.
 * `mode: grpc` calls grpc.health.v1.Health/Check instead (HTTP/2: `h2c`
 * or TLS by the server's scheme): healthy when the answer is SERVING.
 */
export class HealthChecker {
  private readonly timers = new Map<ServerState, NodeJS.Timeout>();
  private readonly intervalMs: number;
  private readonly unhealthyIntervalMs: number;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    private readonly cfg: HealthCheckConfig,
    private readonly servers: ServerState[],
    private readonly transport: Transport,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {
    // As Traefik, a zero duration means the default rather than a busy loop.
    const ms = (v: string | undefined, key: string): number | undefined => (v ? duration(v, `healthCheck.${key}`) || undefined : undefined);
    this.intervalMs = ms(cfg.interval, 'interval') ?? 30_000;
    this.unhealthyIntervalMs = ms(cfg.unhealthyInterval, 'unhealthyInterval') ?? this.intervalMs;
    this.timeoutMs = ms(cfg.timeout, 'timeout') ?? 5_000;
  }

  start(): void {
    for (const server of this.servers) {
      const tick = (): void => {
        if (this.closed) return;
        void this.check(server).then(() => {
          if (this.closed) return;
          const next = server.healthy ? this.intervalMs : this.unhealthyIntervalMs;
          this.timers.set(server, setTimeout(tick, next).unref());
        });
      };
      tick();
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async check(server: ServerState): Promise<void> {
    const ok = await this.probe(server.url);
    const changed = ok ? server.checkPassed() : server.checkFailed();
    if (changed && !this.closed) {
      this.log.info(ok ? 'server is back up' : 'server failed its health check', { server: server.url });
      this.onChange();
    }
  }

  /** One check of one server, redirects included: true when it counts as healthy. */
  async probe(serverUrl: string): Promise<boolean> {
    const base = this.base(serverUrl);
    if (this.cfg.mode === 'grpc') return this.probeGrpc(base);
    let target = new URL(this.cfg.path, base);
    const firstHost = target.host;
    let method = this.cfg.method ?? 'GET';
    const headers: http.OutgoingHttpHeaders = { ...this.cfg.headers, ...(this.cfg.hostname ? { host: this.cfg.hostname } : {}) };
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), this.timeoutMs).unref();
    try {
      for (let redirects = 0; ; redirects++) {
        const res = await this.request(target, method, headers, abort.signal);
        if (!res) return false;
        const follow = this.cfg.followRedirects !== false && REDIRECT_STATUSES.has(res.status) && res.location;
        if (!follow) return this.cfg.status ? res.status === this.cfg.status : res.status >= 200 && res.status < 400;
        if (redirects === MAX_REDIRECTS) return false;
        const next = new URL(res.location!, target);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') return false;
        // As Go's client: the `hostname` override survives only a relative Location.
        if (/^[a-z][a-z0-9+.-]*:/i.test(res.location!)) delete headers.host;
        if (next.host !== firstHost) for (const h of Object.keys(headers)) if (SENSITIVE.includes(h.toLowerCase())) delete headers[h];
        if (res.status <= 303 && method !== 'GET' && method !== 'HEAD') method = 'GET';
        target = next;
      }
    } catch {
      return false; // an unparsable Location
    } finally {
      clearTimeout(deadline);
    }
  }

  /**
   * The server URL with the check's scheme and port. `new URL` keeps a
   * scheme change only between special schemes (http, https), so the
   * URL is rebuilt from its parts.
   */
  private base(serverUrl: string): URL {
    const u = new URL(serverUrl);
    const scheme = this.cfg.scheme ?? u.protocol.slice(0, -1);
    const port = this.cfg.port ?? u.port;
    // hostname keeps an IPv6 address's brackets; no port: the (new) scheme's default.
    return new URL(`${scheme}://${u.hostname}${port ? `:${port}` : ''}${u.pathname}`);
  }

  /** grpc.health.v1.Health/Check on a session of its own; SERVING (with grpc-status 0) is healthy. */
  private async probeGrpc(base: URL): Promise<boolean> {
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), this.timeoutMs).unref();
    try {
      const answer = await h2Request(
        this.transport,
        new URL('/grpc.health.v1.Health/Check', base),
        {
          method: 'POST',
          headers: { ...this.cfg.headers, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': `${this.timeoutMs}m` },
          body: GRPC_HEALTH_REQUEST,
          authority: this.cfg.hostname,
        },
        abort.signal,
      );
      if (!answer || answer.status !== 200) return false;
      const status = answer.trailers['grpc-status'] ?? answer.headers['grpc-status'];
      return status === '0' && servingStatus(answer.body) === SERVING;
    } finally {
      clearTimeout(deadline);
    }
  }

  private request(target: URL, method: string, headers: http.OutgoingHttpHeaders, signal: AbortSignal): Promise<{ status: number; location?: string } | undefined> {
    const secure = target.protocol === 'https:';
    if (target.protocol === 'h2c:') {
      const { host, ...rest } = headers;
      return h2Request(this.transport, target, { method, headers: rest as Record<string, string>, authority: host as string | undefined }, signal).then((a) =>
        a ? { status: a.status, location: a.headers.location } : undefined,
      );
    }
    return new Promise((resolve) => {
      // A connection of its own (no agent): a kept-alive socket that the server closed meanwhile would fail the
      // check and take a healthy server out.
      const options = { method, headers, signal, agent: false, ...(secure ? this.transport.tlsFor(target.hostname) : {}) };
      const req = (secure ? https : http).request(target, options, (res) => {
        // The deadline may abort a body still arriving; the verdict is already taken.
        res.on('error', () => undefined).resume();
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
      });
      req.on('error', () => resolve(undefined));
      req.end();
    });
  }
}

/** HealthCheckResponse.status from one uncompressed gRPC message; 0 (UNKNOWN) when absent or unreadable. */
function servingStatus(body: Buffer): number {
  if (body.length < 5 || body[0] !== 0) return 0;
  const msg = body.subarray(5, 5 + body.readUInt32BE(1));
  // The message has one field; its values (0-3) fit one varint byte.
  return msg[0] === 0x08 ? (msg[1] ?? 0) : 0;
}
