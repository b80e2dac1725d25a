import type { HostBinding } from '../rules/types';
import type { TcpMatch } from '../rules/tcp-matchers';
import type { TcpMiddlewareRuntime, TcpRouterRuntime, TcpServiceRuntime, UsableTcpRouter } from './runtime';

/** What an entrypoint's HTTPS routers claim of SNI names: Traefik lets a host-bound HTTPS router outrank a TCP catch-all, and an HTTPS router bound to the very name a TCP router's. */
export interface HttpsClaims {
  bindings: HostBinding[];
  /** Some HTTPS router on it is bound to no host (it takes any SNI, after the TCP routers that name it). */
  unbound: boolean;
}

const byPriority = (a: TcpRouterRuntime, b: TcpRouterRuntime): number => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function claimed(b: HostBinding, sni: string): boolean {
  if (b.exact.includes(sni)) return true;
  const dot = sni.indexOf('.');
  return dot > 0 && b.wildcard.includes(`*${sni.slice(dot)}`);
}

/**
 * The TCP routers of every entrypoint, compiled once per configuration
 * change and read by the entrypoints' connection routing: plaintext
 * routers (no `tls`) and TLS routers (ended here or passed through), each
 * list in priority order (ties by name).
 */
export class TcpTable {
  private readonly byEntryPoint = new Map<string, { plain: UsableTcpRouter[]; tls: UsableTcpRouter[]; https: HttpsClaims }>();

  constructor(
    readonly routers: ReadonlyMap<string, TcpRouterRuntime>,
    readonly services: ReadonlyMap<string, TcpServiceRuntime>,
    readonly middlewares: ReadonlyMap<string, TcpMiddlewareRuntime>,
    https: Record<string, HttpsClaims>,
  ) {
    const usable = [...routers.values()].filter((r): r is UsableTcpRouter => r.handler !== undefined && r.rule !== undefined).sort(byPriority);
    for (const [ep, claims] of Object.entries(https)) {
      const on = usable.filter((r) => r.entryPoints.includes(ep));
      this.byEntryPoint.set(ep, { plain: on.filter((r) => r.tls === 'none'), tls: on.filter((r) => r.tls !== 'none'), https: claims });
    }
  }

  static readonly empty = new TcpTable(new Map(), new Map(), new Map(), {});

  /** The plaintext router for a connection, if one matches. */
  matchPlain(entryPoint: string, m: TcpMatch): UsableTcpRouter | undefined {
    return this.byEntryPoint.get(entryPoint)?.plain.find((r) => r.rule.match(m));
  }

  /**
   * The TLS router for a ClientHello, in Traefik's order: a router naming
   * the SNI, unless an HTTPS router is bound to that name; then HTTPS
   * routers bound to no host; then the TCP catch-alls. `httpsFirst`: false
   * for a PostgreSQL STARTTLS, which no HTTPS router can serve.
   */
  matchTls(entryPoint: string, m: TcpMatch, httpsFirst = true): UsableTcpRouter | undefined {
    const ep = this.byEntryPoint.get(entryPoint);
    if (!ep || ep.tls.length === 0) return undefined;
    const https = httpsFirst && m.serverName !== '' && ep.https.bindings.some((b) => claimed(b, m.serverName));
    if (https) return undefined;
    const hit = ep.tls.find((r) => !r.rule.catchAll && r.rule.match(m));
    if (hit) return hit;
    if (httpsFirst && ep.https.unbound) return undefined;
    return ep.tls.find((r) => r.rule.catchAll && r.rule.match(m));
  }

  /** The TCP routers of one kind on an entrypoint, in the order they are tried (for `explain`). */
  candidates(entryPoint: string, tls: boolean): UsableTcpRouter[] {
    const ep = this.byEntryPoint.get(entryPoint);
    return ep ? (tls ? ep.tls : ep.plain) : [];
  }

  hasTls(entryPoint: string): boolean {
    return (this.byEntryPoint.get(entryPoint)?.tls.length ?? 0) > 0;
  }

  /**
   * Traefik's shortcut for server-first protocols (MySQL, SMTP): with
   * plaintext TCP routers and neither TLS TCP routers nor HTTPS routers on
   * the entrypoint, a connection is routed when it opens, by client IP,
   * without waiting for a first byte.
   */
  routesAtAccept(entryPoint: string): boolean {
    const ep = this.byEntryPoint.get(entryPoint);
    return !!ep && ep.plain.length > 0 && ep.tls.length === 0 && !ep.https.unbound && ep.https.bindings.length === 0;
  }
}
