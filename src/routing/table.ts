import type { MatchRequest } from '../rules/types';
import type { RouterRuntime, ServiceRuntime, MiddlewareRuntime } from './runtime';
import { RouterIndex, Routable } from './router-index';

/**
 * The compiled, immutable routing state the entrypoints read. A new table
 * replaces the old one atomically on every configuration change; requests
 * already matched keep the handlers they were given.
 */
export class RoutingTable {
  private readonly indexes = new Map<string, RouterIndex>();

  constructor(
    readonly routers: ReadonlyMap<string, RouterRuntime>,
    readonly services: ReadonlyMap<string, ServiceRuntime>,
    readonly middlewares: ReadonlyMap<string, MiddlewareRuntime>,
    /** Entrypoint name → whether it terminates TLS. */
    entryPoints: Record<string, boolean>,
  ) {
    const usable = [...routers.values()].filter((r): r is Routable => r.handler !== undefined && r.rule !== undefined);
    for (const [ep, tls] of Object.entries(entryPoints)) {
      // Traefik's rule: a router with tls serves only TLS requests; on a TLS entrypoint every router does.
      this.indexes.set(ep, new RouterIndex(usable.filter((r) => r.entryPoints.includes(ep) && (tls || !r.tls))));
    }
  }

  static empty(entryPoints: Record<string, boolean>): RoutingTable {
    return new RoutingTable(new Map(), new Map(), new Map(), entryPoints);
  }

  match(entryPoint: string, req: MatchRequest): Routable | undefined {
    return this.indexes.get(entryPoint)?.match(req);
  }

  index(entryPoint: string): RouterIndex | undefined {
    return this.indexes.get(entryPoint);
  }
}
