import type { ProviderSnapshot, UdpRouterConfig, UdpServiceConfig } from '../dynamic/model';
import { errorMessage } from '../errors';
import { qualify, statusOf } from '../routing/runtime';
import { RoundRobin, UdpServer, WeightedPicker, type UdpPicker } from './balancer';
import { UdpCounters, UdpTable, type UdpRoute, type UdpRouterRuntime, type UdpServiceRuntime } from './table';

interface Definition<C> {
  config: C;
  json: string;
  warnings: string[];
}

/** Kept across compiles: servers' passive health, balancers' positions, routers' counters, last good definitions. */
export interface UdpCompileCache {
  servers: Map<string, UdpServer>;
  pickers: Map<string, { key: string; picker: RoundRobin }>;
  counters: Map<string, UdpCounters>;
  lastGood: { routers: Map<string, Definition<UdpRouterConfig>>; services: Map<string, Definition<UdpServiceConfig>> };
}

export const newUdpCompileCache = (): UdpCompileCache => ({ servers: new Map(), pickers: new Map(), counters: new Map(), lastGood: { routers: new Map(), services: new Map() } });

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
interface RawObject<C> {
  provider: string;
  bare: string;
  config: C;
  errors: string[];
  warnings: string[];
}

function collect<C>(snaps: ProviderSnapshot[], kind: 'routers' | 'services'): Map<string, RawObject<C>> {
  const out = new Map<string, RawObject<C>>();
  for (const snap of snaps) {
    for (const [bare, config] of Object.entries(snap.config.udp?.[kind] ?? {})) {
      const key = `udp.${kind}.${bare}`;
      out.set(`${bare}@${snap.provider}`, { provider: snap.provider, bare, config: config as C, errors: [...(snap.errors?.[key] ?? [])], warnings: [...(snap.warnings?.[key] ?? [])] });
    }
  }
  return out;
}

/**
 * As for HTTP objects (routing/compile.ts): a router or service whose new
 * definition is broken keeps serving its last good one, with the new one's
 * errors as warnings, until it is fixed or removed. `attempt` gets fresh
 * copies of the messages and must leave no trace when it fails.
 */
function withLastGood<C, R extends { errors: string[]; warnings: string[] }>(
  name: string,
  raw: RawObject<C>,
  last: Map<string, Definition<C>>,
  keep: Map<string, Definition<C>>,
  attempt: (o: RawObject<C>) => R,
): R {
  const fresh = attempt({ ...raw, errors: [...raw.errors], warnings: [...raw.warnings] });
  const json = JSON.stringify(raw.config);
  if (!fresh.errors.length) {
    keep.set(name, { config: raw.config, json, warnings: raw.warnings });
    return fresh;
  }
  const good = last.get(name);
  if (!good || good.json === json) return fresh;
  keep.set(name, good);
  const kept = attempt({ ...raw, config: good.config, errors: [], warnings: [...good.warnings] });
  if (kept.errors.length) return fresh;
  kept.warnings.push(...fresh.errors.map((e) => `${e}: new definition refused, the last good one keeps serving`));
  return kept;
}

/**
 * Compiles the `udp` sections of the providers' snapshots, once per change.
 * `entryPoints` names every entrypoint with its protocol, so that a router
 * naming a TCP one is told so. Each fault stays on its router or service.
 *
 * As in Traefik, an entrypoint serves one UDP router: of those that could
 * serve it, the first by name in descending order. The others are told on
 * their status (Traefik only logs it); one that serves no entrypoint at all
 * is disabled.
 */
export function compileUdp(snapshots: Iterable<ProviderSnapshot>, entryPoints: Record<string, 'tcp' | 'udp'>, cache: UdpCompileCache): UdpTable {
  const list = [...snapshots];
  const next = newUdpCompileCache();
  const services = buildServices(list, cache, next);

  const udpEntryPoints = Object.keys(entryPoints).filter((n) => entryPoints[n] === 'udp');
  const routers = new Map<string, Mutable<UdpRouterRuntime>>();
  const pickers = new Map<string, UdpPicker>();
  for (const [name, raw] of collect<UdpRouterConfig>(list, 'routers')) {
    const counters = next.counters.get(name) ?? cache.counters.get(name) ?? new UdpCounters();
    const r = withLastGood(name, raw, cache.lastGood.routers, next.lastGood.routers, (o) => buildRouter(name, o, entryPoints, udpEntryPoints, (q) => services.get(q), counters));
    next.counters.set(name, counters);
    const picker = r.errors.length ? undefined : services.get(r.service ?? '')?.picker;
    if (picker) pickers.set(name, picker);
    routers.set(name, r);
    if (r.service) services.get(r.service)?.usedBy.push(name);
  }
  const routes = assignEntryPoints(routers, pickers, udpEntryPoints);
  for (const r of routers.values()) r.status = statusOf(r.errors, r.warnings);
  cache.servers = next.servers;
  cache.pickers = next.pickers;
  cache.counters = next.counters;
  cache.lastGood = next.lastGood;
  return new UdpTable(routers, services, routes);
}

/** Every UDP service, its children first; a load balancer keeps its servers' health and position while its servers are unchanged. */
function buildServices(list: ProviderSnapshot[], cache: UdpCompileCache, next: UdpCompileCache): Map<string, Mutable<UdpServiceRuntime>> {
  const rawServices = collect<UdpServiceConfig>(list, 'services');
  const services = new Map<string, Mutable<UdpServiceRuntime>>();

  const serverFor = (address: string): UdpServer => {
    const s = next.servers.get(address) ?? cache.servers.get(address) ?? new UdpServer(address);
    next.servers.set(address, s);
    return s;
  };
  const buildService = (name: string, stack: string[]): UdpServiceRuntime | undefined => {
    const done = services.get(name);
    if (done) return done;
    const raw = rawServices.get(name);
    if (!raw) return undefined;
    const runtime = withLastGood(name, raw, cache.lastGood.services, next.lastGood.services, (o) => attempt(name, o, stack));
    runtime.status = statusOf(runtime.errors, runtime.warnings);
    services.set(name, runtime);
    return runtime;
  };
  const attempt = (name: string, raw: RawObject<UdpServiceConfig>, stack: string[]): Mutable<UdpServiceRuntime> => {
    const { config, errors, warnings } = raw;
    let picker: UdpPicker | undefined;
    if (!errors.length && config.loadBalancer) {
      try {
        const servers = config.loadBalancer.servers.map((s) => serverFor(s.address));
        if (servers.length === 0) warnings.push('no server: datagrams of new clients are dropped until one is ready');
        const key = servers.map((s) => s.address).join(' ');
        const previous = cache.pickers.get(name);
        const rr = previous?.key === key ? previous.picker : new RoundRobin(servers);
        next.pickers.set(name, { key, picker: rr });
        picker = rr;
      } catch (err) {
        errors.push(errorMessage(err));
      }
    } else if (!errors.length && config.weighted) {
      if (stack.includes(name)) errors.push(`weighted service cycle: ${[...stack, name].join(' -> ')}`);
      const children: { weight: number; picker: UdpPicker }[] = [];
      for (const child of errors.length ? [] : config.weighted.services) {
        const q = qualify(child.name, raw.provider);
        const svc = buildService(q, [...stack, name]);
        if (!svc) errors.push(`service ${q} does not exist`);
        else if (!svc.picker) errors.push(`service ${q} is disabled${svc.errors.length ? `: ${svc.errors.join('; ')}` : ''}`);
        else children.push({ weight: child.weight ?? 1, picker: svc.picker });
      }
      if (!errors.length) picker = new WeightedPicker(children);
      if (picker?.empty) warnings.push('no server in any of its services: datagrams of new clients are dropped until one is ready');
    } else if (!errors.length) errors.push('expected exactly one of loadBalancer, weighted');
    return { name, provider: raw.provider, config, picker: errors.length ? undefined : picker, status: statusOf(errors, warnings), errors, warnings, usedBy: [] };
  };
  for (const name of rawServices.keys()) buildService(name, []);
  return services;
}

function buildRouter(
  name: string,
  raw: RawObject<UdpRouterConfig>,
  all: Record<string, 'tcp' | 'udp'>,
  udpEntryPoints: string[],
  service: (name: string) => UdpServiceRuntime | undefined,
  counters: UdpCounters,
): Mutable<UdpRouterRuntime> {
  const { config, errors, warnings } = raw;
  const wanted = config.entryPoints?.length ? config.entryPoints : udpEntryPoints;
  const bad = wanted.filter((ep) => all[ep] !== 'udp').map((ep) =>
    all[ep] === undefined ? `entryPoint ${JSON.stringify(ep)} does not exist` : `entryPoint ${JSON.stringify(ep)} is not a UDP entrypoint (its address does not end in /udp)`,
  );
  const using = wanted.filter((ep) => all[ep] === 'udp');
  if (using.length === 0) errors.push(...bad, 'no valid UDP entryPoint for this router');
  else warnings.push(...bad);
  let qualified: string | undefined;
  if (!config.service) errors.push("the service is missing on the UDP router: set the router's service");
  else {
    qualified = qualify(config.service, raw.provider);
    const svc = service(qualified);
    if (!svc) errors.push(`service ${qualified} does not exist`);
    else if (!svc.picker) errors.push(`service ${qualified} is disabled${svc.errors.length ? `: ${svc.errors.join('; ')}` : ''}`);
  }
  const router: Mutable<UdpRouterRuntime> = {
    name, provider: raw.provider, config, using: errors.length ? [] : using, service: qualified, status: 'enabled', errors, warnings, counters,
  };
  return router;
}

/** One router per entrypoint (Traefik's rule); what each router lost is said on it. */
function assignEntryPoints(routers: Map<string, Mutable<UdpRouterRuntime>>, pickers: Map<string, UdpPicker>, udpEntryPoints: string[]): Map<string, UdpRoute> {
  const routes = new Map<string, UdpRoute>();
  const served = new Map<string, string[]>();
  const lost = new Map<string, string[]>();
  const byNameDescending = (a: UdpRouterRuntime, b: UdpRouterRuntime): number => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);
  for (const ep of udpEntryPoints) {
    const [winner, ...others] = [...routers.values()].filter((r) => pickers.has(r.name) && r.using.includes(ep)).sort(byNameDescending);
    if (!winner) continue;
    routes.set(ep, { router: winner, picker: pickers.get(winner.name)! });
    served.set(winner.name, [...(served.get(winner.name) ?? []), ep]);
    for (const o of others) lost.set(o.name, [...(lost.get(o.name) ?? []), `entryPoint ${JSON.stringify(ep)} is served by UDP router ${winner.name}`]);
  }
  const rule = 'one UDP router per entrypoint, the first by name in descending order (as in Traefik)';
  for (const r of routers.values()) {
    const messages = lost.get(r.name);
    if (!messages) continue;
    if (served.has(r.name)) r.warnings.push(`${messages.join('; ')}: ${rule}`);
    else r.errors.push(`not served: ${messages.join('; ')}: ${rule}`);
    r.using = served.get(r.name) ?? [];
  }
  return routes;
}
