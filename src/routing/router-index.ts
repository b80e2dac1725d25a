import type { MatchRequest } from '../rules/types';
import type { RouterRuntime } from './runtime';
import { copyMap } from './map-copy';

type Routable = RouterRuntime & { rule: NonNullable<RouterRuntime['rule']>; handler: NonNullable<RouterRuntime['handler']>; dispatch: NonNullable<RouterRuntime['dispatch']> };

const byPriority = (a: RouterRuntime, b: RouterRuntime): number => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The routers of one entrypoint and TLS-ness, indexed once per change:
 * routers bound to exact hosts go under each host in a Map, merged in
 * priority order with the routers that are not host-bound; a request looks
 * up its host and walks one short, already sorted list.
 */
export class RouterIndex {
  /** A host's one router as itself (most hosts have one, and no unbound router shares them): a list per host would cost 10,000 lists. */
  private readonly byHost: Map<string, Routable | Routable[]>;
  private readonly unbound: Routable[];

  constructor(routers: Routable[], kept?: { byHost: Map<string, Routable | Routable[]>; unbound: Routable[] }) {
    if (kept) {
      ({ byHost: this.byHost, unbound: this.unbound } = kept);
      return;
    }
    this.byHost = new Map();
    this.unbound = routers.filter((r) => r.rule.hosts === null).sort(byPriority);
    for (const r of routers) {
      for (const h of r.rule.hosts ?? []) {
        const had = this.byHost.get(h);
        if (Array.isArray(had)) had.push(r);
        else this.byHost.set(h, had === undefined ? r : [had, r]);
      }
    }
    // forEach: a for-of over 10,000 hosts makes an entry array each.
    this.byHost.forEach((entry, host) => {
      if (Array.isArray(entry) || this.unbound.length) this.byHost.set(host, this.entry(listOf(entry)));
    });
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
    const byHost = copyMap(this.byHost);
    for (const host of new Set([...removed, ...added].flatMap((r) => r.rule.hosts!))) {
      const bound = listOf(byHost.get(host)).filter((r) => r.rule.hosts !== null && !gone.has(r));
      bound.push(...added.filter((r) => r.rule.hosts!.includes(host)));
      if (bound.length) byHost.set(host, this.entry(bound));
      else byHost.delete(host);
    }
    return new RouterIndex([], { byHost, unbound: this.unbound });
  }

  match(req: MatchRequest): Routable | undefined {
    const hit = this.byHost.get(req.host);
    if (hit !== undefined && !Array.isArray(hit)) return hit.rule.match(req) ? hit : undefined;
    for (const r of hit ?? this.unbound) if (r.rule.match(req)) return r;
    return undefined;
  }

  /** Every router in priority order, for `explain`. */
  all(): Routable[] {
    const seen = new Set<Routable>(this.unbound);
    for (const entry of this.byHost.values()) for (const r of listOf(entry)) seen.add(r);
    return [...seen].sort(byPriority);
  }

  /** A host's routers with the unbound ones, in priority order. */
  private entry(bound: Routable[]): Routable | Routable[] {
    return bound.length === 1 && this.unbound.length === 0 ? bound[0] : [...bound, ...this.unbound].sort(byPriority);
  }
}

const listOf = (entry: Routable | Routable[] | undefined): Routable[] => (entry === undefined ? [] : Array.isArray(entry) ? entry : [entry]);

export type { Routable };
