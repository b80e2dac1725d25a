import type { MatchRequest } from '../rules/types';
import type { RouterRuntime, ServiceRuntime, MiddlewareRuntime } from './runtime';
import { RouterIndex, Routable } from './router-index';
import type { TcpTable } from '../tcp/tcp-table';
import { UdpTable } from '../udp/table';

/**
 * The compiled, immutable routing state the entrypoints read. A new table
 * replaces the old one atomically on every configuration change; requests
 * already matched keep the handlers they were given.
 */
export class RoutingTable {
  /** The UDP routers and services (src/udp), compiled from the same snapshots; set once, before the table is published. */
  udp = UdpTable.EMPTY;
  /** Per entrypoint: the routers for plaintext connections, and for TLS ones. */
  private readonly indexes = new Map<string, { plain: RouterIndex; tls: RouterIndex }>();
  /** The TCP routers compiled from the same snapshots (set by the gateway right after this table is made). */
  tcp?: TcpTable;

  constructor(
    readonly routers: ReadonlyMap<string, RouterRuntime>,
    readonly services: ReadonlyMap<string, ServiceRuntime>,
    readonly middlewares: ReadonlyMap<string, MiddlewareRuntime>,
    /** Entrypoint name → whether it terminates TLS. */
    private readonly entryPoints: Record<string, boolean>,
    indexes?: ReadonlyMap<string, { plain: RouterIndex; tls: RouterIndex }>,
  ) {
    if (indexes) {
      this.indexes = new Map(indexes);
      return;
    }
    const usable = [...routers.values()].filter(routable);
    for (const [ep, tls] of Object.entries(entryPoints)) {
      this.indexes.set(ep, { plain: new RouterIndex(usable.filter((r) => side(r, ep, tls) === 'plain')), tls: new RouterIndex(usable.filter((r) => side(r, ep, tls) === 'tls')) });
    }
  }

  /**
   * The table with some routers replaced (`[before, after]`, either absent
   * for one removed or added), its indexes updated for those alone.
   */
  derive(
    routers: ReadonlyMap<string, RouterRuntime>,
    services: ReadonlyMap<string, ServiceRuntime>,
    middlewares: ReadonlyMap<string, MiddlewareRuntime>,
    changed: readonly [RouterRuntime | undefined, RouterRuntime | undefined][],
  ): RoutingTable {
    const indexes = new Map<string, { plain: RouterIndex; tls: RouterIndex }>();
    for (const [ep, tls] of Object.entries(this.entryPoints)) {
      const on = (which: 'plain' | 'tls', i: 0 | 1): Routable[] => changed.map((c) => c[i]).filter((r): r is Routable => r !== undefined && routable(r) && side(r, ep, tls) === which);
      const pair = this.indexes.get(ep)!;
      indexes.set(ep, { plain: pair.plain.with(on('plain', 0), on('plain', 1)), tls: pair.tls.with(on('tls', 0), on('tls', 1)) });
    }
    return new RoutingTable(routers, services, middlewares, this.entryPoints, indexes);
  }

  static empty(entryPoints: Record<string, boolean>): RoutingTable {
    return new RoutingTable(new Map(), new Map(), new Map(), entryPoints);
  }

  match(entryPoint: string, tls: boolean, req: MatchRequest): Routable | undefined {
    const pair = this.indexes.get(entryPoint);
    return pair && (tls ? pair.tls : pair.plain).match(req);
  }

}

const routable = (r: RouterRuntime): r is Routable => r.handler !== undefined && r.dispatch !== undefined && r.rule !== undefined;

/**
 * Traefik's rule: a router with tls serves only TLS connections, one
 * without only plaintext ones; an entrypoint with http.tls makes every
 * router on it a TLS router.
 */
function side(r: Routable, ep: string, epTls: boolean): 'plain' | 'tls' | undefined {
  if (!r.entryPoints.includes(ep)) return undefined;
  return epTls || r.tls ? 'tls' : 'plain';
}
