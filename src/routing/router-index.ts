import type { MatchRequest } from '../rules/types';
import type { RouterRuntime } from './runtime';

type Routable = RouterRuntime & { rule: NonNullable<RouterRuntime['rule']>; handler: NonNullable<RouterRuntime['handler']>; dispatch: NonNullable<RouterRuntime['dispatch']> };

const byPriority = (a: RouterRuntime, b: RouterRuntime): number => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The routers of one entrypoint and TLS-ness, indexed once per change:
 * routers bound to exact hosts go under each host in a Map, merged in
 * priority order with the routers that are not host-bound; a request looks
 * up its host and walks one short, already sorted list.
 */
export class RouterIndex {
  private readonly byHost = new Map<string, Routable[]>();
  private readonly unbound: Routable[];

  constructor(routers: Routable[]) {
    this.unbound = routers.filter((r) => r.rule.hosts === null).sort(byPriority);
    const bound = new Map<string, Routable[]>();
    for (const r of routers) for (const h of r.rule.hosts ?? []) bound.set(h, [...(bound.get(h) ?? []), r]);
    for (const [host, list] of bound) this.byHost.set(host, [...list, ...this.unbound].sort(byPriority));
  }

  match(req: MatchRequest): Routable | undefined {
    const list = this.byHost.get(req.host) ?? this.unbound;
    for (const r of list) if (r.rule.match(req)) return r;
    return undefined;
  }

  /** Every router in priority order, for `explain`. */
  all(): Routable[] {
    const seen = new Set<Routable>(this.unbound);
    for (const list of this.byHost.values()) for (const r of list) seen.add(r);
    return [...seen].sort(byPriority);
  }
}

export type { Routable };
