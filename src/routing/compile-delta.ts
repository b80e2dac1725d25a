import { isDeepStrictEqual } from 'node:util';
import type { ProviderSnapshot } from '../dynamic/model';

/**
 * The routers and services a change touches, by qualified name, when that
 * is all it touches: compile.ts then rebuilds only them (and the routers
 * using a touched service) on top of the previous table.
 */
export interface Delta {
  routers: Set<string>;
  services: Set<string>;
}

/** Above this share of objects changed, the whole compile is as cheap. */
const MOST = 0.25;

/**
 * Compares two sets of snapshots object by object. An unchanged object is
 * usually the same object (the file provider keeps them; compile.ts
 * remembers decodings), so this costs a pointer comparison each; a provider
 * that rebuilds its objects on each change costs a deep comparison instead.
 * Undefined: anything else changed (middlewares, transports, TLS, TCP, UDP,
 * a provider come or gone, a weighted service), so compile everything.
 */
/** `pinned`: services named by a weighted service or a middleware (errors, mirroring), which a delta must not change. */
export function deltaOf(before: ReadonlyMap<string, ProviderSnapshot>, after: readonly ProviderSnapshot[], pinned: ReadonlySet<string>): Delta | undefined {
  if (before.size !== after.length) return undefined;
  const out: Delta = { routers: new Set(), services: new Set() };
  let objects = 0;
  for (const next of after) {
    const prev = before.get(next.provider);
    if (!prev) return undefined;
    objects += size(next.config.http?.routers) + size(next.config.http?.services);
    if (prev === next) continue;
    const a = prev.config;
    const b = next.config;
    if (!same(a.http?.middlewares, b.http?.middlewares) || !same(a.http?.serversTransports, b.http?.serversTransports)) return undefined;
    if (!same(a.tls, b.tls) || !same(a.tcp, b.tcp) || !same(a.udp, b.udp)) return undefined;
    for (const name of changedKeys(a.http?.routers, b.http?.routers)) out.routers.add(`${name}@${next.provider}`);
    for (const name of changedKeys(a.http?.services, b.http?.services)) {
      const q = `${name}@${next.provider}`;
      // A weighted service is composed of others: rebuilt with the whole table, as are services others are composed of.
      if (a.http?.services?.[name]?.weighted || b.http?.services?.[name]?.weighted || pinned.has(q)) return undefined;
      out.services.add(q);
    }
    for (const [said, other] of [[prev.errors, next.errors], [prev.warnings, next.warnings]] as const) {
      for (const key of changedKeys(said, other)) {
        const dot = key.indexOf('.');
        const kind = key.slice(0, dot);
        if (kind === 'routers') out.routers.add(`${key.slice(dot + 1)}@${next.provider}`);
        else if (kind === 'services' && !pinned.has(`${key.slice(dot + 1)}@${next.provider}`)) out.services.add(`${key.slice(dot + 1)}@${next.provider}`);
        else return undefined;
      }
    }
  }
  return out.routers.size + out.services.size > objects * MOST ? undefined : out;
}

const size = (o: object | undefined): number => (o ? Object.keys(o).length : 0);

const same = (a: unknown, b: unknown): boolean => a === b || isDeepStrictEqual(a, b);

/** Keys added, removed, or whose value is not the same. */
function changedKeys<V>(a: Record<string, V> | undefined, b: Record<string, V> | undefined): string[] {
  if (a === b) return [];
  const out: string[] = [];
  const keys = a ? Object.keys(a) : [];
  for (let i = 0; i < keys.length; i++) if (!b || !Object.hasOwn(b, keys[i]) || !same(a![keys[i]], b[keys[i]])) out.push(keys[i]);
  // Equal counts and none missing from b: b has no key a lacks.
  if (b && (keys.length !== Object.keys(b).length || out.length)) for (const k of Object.keys(b)) if (!a || !Object.hasOwn(a, k)) out.push(k);
  return out;
}
