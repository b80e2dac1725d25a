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
    entryPoints: Record<string, boolean>,
  ) {
    const usable = [...routers.values()].filter((r): r is Routable => r.handler !== undefined && r.dispatch !== undefined && r.rule !== undefined);
    for (const [ep, tls] of Object.entries(entryPoints)) {
      // Traefik's rule: a router with tls serves only TLS connections, one without only plaintext ones;
      // an entrypoint with http.tls makes every router on it a TLS router.
      const on = usable.filter((r) => r.entryPoints.includes(ep));
      this.indexes.set(ep, { plain: new RouterIndex(tls ? [] : on.filter((r) => !r.tls)), tls: new RouterIndex(tls ? on : on.filter((r) => r.tls)) });
    }
  }

  static empty(entryPoints: Record<string, boolean>): RoutingTable {
    return new RoutingTable(new Map(), new Map(), new Map(), entryPoints);
  }

  match(entryPoint: string, tls: boolean, req: MatchRequest): Routable | undefined {
    const pair = this.indexes.get(entryPoint);
    return pair && (tls ? pair.tls : pair.plain).match(req);
  }

}
