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
  private readonly byHost: Map<string, Routable[]>;
  private readonly unbound: Routable[];

  constructor(routers: Routable[], kept?: { byHost: Map<string, Routable[]>; unbound: Routable[] }) {
    if (kept) {
      ({ byHost: this.byHost, unbound: this.unbound } = kept);
      return;
    }
    this.byHost = new Map();
    this.unbound = routers.filter((r) => r.rule.hosts === null).sort(byPriority);
    const bound = new Map<string, Routable[]>();
    for (const r of routers) for (const h of r.rule.hosts ?? []) (bound.get(h) ?? bound.set(h, []).get(h)!).push(r);
    for (const [host, list] of bound) this.byHost.set(host, [...list, ...this.unbound].sort(byPriority));
  }

  /**
   * This index with some routers removed and some added: only their hosts'
   * lists are rebuilt, unless one of them is not bound to hosts (every list
   * holds those).
   */
  with(removed: Routable[], added: Routable[]): RouterIndex {
    if (removed.length === 0 && added.length === 0) return this;
    const gone = new Set(removed);
    if ([...removed, ...added].some((r) => r.rule.hosts === null)) return new RouterIndex([...this.all().filter((r) => !gone.has(r)), ...added]);
    const byHost = new Map(this.byHost);
    for (const host of new Set([...removed, ...added].flatMap((r) => r.rule.hosts!))) {
      const bound = (byHost.get(host) ?? []).filter((r) => r.rule.hosts !== null && !gone.has(r));
      bound.push(...added.filter((r) => r.rule.hosts!.includes(host)));
      if (bound.length) byHost.set(host, [...bound, ...this.unbound].sort(byPriority));
      else byHost.delete(host);
    }
    return new RouterIndex([], { byHost, unbound: this.unbound });
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
