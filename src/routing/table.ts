import type { MatchRequest } from '../rules/types';
import type { RouterRuntime, ServiceRuntime, MiddlewareRuntime } from './runtime';
import { RouterIndex, Routable } from './router-index';

/**
 * The compiled, immutable routing state the entrypoints read. A new table
 * replaces the old one atomically on every configuration change; requests
 * already matched keep the handlers they were given.
 */
export class RoutingTable {
  private readonly indexes = new Map<string, { plain: RouterIndex; tls: RouterIndex }>();

  constructor(
    readonly routers: ReadonlyMap<string, RouterRuntime>,
    readonly services: ReadonlyMap<string, ServiceRuntime>,
    readonly middlewares: ReadonlyMap<string, MiddlewareRuntime>,
    entryPoints: string[],
  ) {
    const usable = [...routers.values()].filter((r): r is Routable => r.handler !== undefined && r.rule !== undefined);
    for (const ep of entryPoints) {
      const on = usable.filter((r) => r.entryPoints.includes(ep));
      this.indexes.set(ep, { plain: new RouterIndex(on.filter((r) => !r.tls)), tls: new RouterIndex(on.filter((r) => r.tls)) });
    }
  }

  static empty(entryPoints: string[]): RoutingTable {
    return new RoutingTable(new Map(), new Map(), new Map(), entryPoints);
  }

  match(entryPoint: string, tls: boolean, req: MatchRequest): Routable | undefined {
    const index = this.indexes.get(entryPoint);
    return index && (tls ? index.tls : index.plain).match(req);
  }

  index(entryPoint: string, tls: boolean): RouterIndex | undefined {
    const index = this.indexes.get(entryPoint);
    return index && (tls ? index.tls : index.plain);
  }
}
