import type { RoutingTable } from '../routing/table';
import { redactMiddlewareOptions } from './redact';
import type { UdpRouterRuntime, UdpServiceRuntime } from '../udp/table';

/** What every object's view reads: HTTP, TCP and UDP objects alike. */
interface ObjectLike {
  readonly name: string;
  readonly provider: string;
  readonly status: string;
  readonly errors: string[];
  readonly warnings: string[];
}

interface RouterLike extends ObjectLike {
  readonly entryPoints: string[];
  readonly middlewares: string[];
  readonly service?: string;
  readonly config: { rule: string; service?: string; tls?: unknown };
  readonly rule?: { syntax: string };
  readonly priority: number;
}

interface ServiceLike extends ObjectLike {
  readonly config: object;
  readonly usedBy: string[];
}

interface MiddlewareLike extends ObjectLike {
  readonly config: Record<string, unknown>;
  readonly type: string;
  readonly usedBy: string[];
}

const problems = (o: ObjectLike): Record<string, unknown> => ({
  status: o.status,
  ...(o.errors.length ? { error: o.errors } : {}),
  ...(o.warnings.length ? { warning: o.warnings } : {}),
});

/**
 * The API's views of the routing table, in Traefik's field names so that
 * existing tooling (dashboards, scripts) reads them unchanged.
 */
export function routerView(r: RouterLike): Record<string, unknown> {
  return {
    entryPoints: r.entryPoints,
    ...(r.middlewares.length ? { middlewares: r.middlewares } : {}),
    service: r.service ?? r.config.service,
    rule: r.config.rule,
    ...(r.rule ? { ruleSyntax: r.rule.syntax } : {}),
    priority: r.priority,
    ...(r.config.tls ? { tls: r.config.tls } : {}),
    ...problems(r),
    using: r.entryPoints,
    name: r.name,
    provider: r.provider,
  };
}

/** A service; `serverStatus` per server (DOWN while it is ejected or failing its checks). */
export function serviceView(s: ServiceLike & { serverStatus(): Record<string, string> }, serverStatus = s.serverStatus()): Record<string, unknown> {
  return {
    ...s.config,
    ...problems(s),
    usedBy: s.usedBy,
    ...(Object.keys(serverStatus).length ? { serverStatus } : {}),
    name: s.name,
    provider: s.provider,
    type: Object.keys(s.config)[0]?.toLowerCase(),
  };
}

export function middlewareView(m: MiddlewareLike): Record<string, unknown> {
  const [key] = Object.keys(m.config);
  return {
    [m.type[0].toLowerCase() + m.type.slice(1)]: redactMiddlewareOptions(m.type, m.config[key]),
    ...problems(m),
    usedBy: m.usedBy,
    name: m.name,
    provider: m.provider,
    type: m.type.toLowerCase(),
  };
}

const counts = (items: Iterable<{ status: string }>): { total: number; warnings: number; errors: number } => {
  const out = { total: 0, warnings: 0, errors: 0 };
  for (const i of items) {
    out.total++;
    if (i.status === 'warning') out.warnings++;
    if (i.status === 'disabled') out.errors++;
  }
  return out;
};

export function overview(table: RoutingTable, providers: string[], features: Record<string, unknown>): Record<string, unknown> {
  return {
    http: { routers: counts(table.routers.values()), services: counts(table.services.values()), middlewares: counts(table.middlewares.values()) },
    tcp: { routers: counts(table.tcp?.routers.values() ?? []), services: counts(table.tcp?.services.values() ?? []), middlewares: counts(table.tcp?.middlewares.values() ?? []) },
    udp: { routers: counts(table.udp.routers.values()), services: counts(table.udp.services.values()) },
    features,
    providers,
  };
}

export function rawdata(table: RoutingTable): Record<string, unknown> {
  const byName = <T extends { name: string }>(items: Iterable<T>, view: (t: T) => Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries([...items].map((i) => [i.name, view(i)]));
  return {
    routers: byName(table.routers.values(), routerView),
    middlewares: byName(table.middlewares.values(), middlewareView),
    services: byName(table.services.values(), serviceView),
    tcpRouters: byName(table.tcp?.routers.values() ?? [], routerView),
    tcpServices: byName(table.tcp?.services.values() ?? [], serviceView),
    tcpMiddlewares: byName(table.tcp?.middlewares.values() ?? [], middlewareView),
    udpRouters: byName(table.udp.routers.values(), udpRouterView),
    udpServices: byName(table.udp.services.values(), udpServiceView),
  };
}

/** Traefik's UDP router fields; `stats` (Portier's) counts its sessions, datagrams and bytes since it appeared. */
export function udpRouterView(r: UdpRouterRuntime): Record<string, unknown> {
  return {
    entryPoints: r.config.entryPoints ?? [],
    service: r.service ?? r.config.service,
    ...problems(r),
    using: r.using,
    stats: { ...r.counters },
    name: r.name,
    provider: r.provider,
  };
}

/** Traefik's UDP service fields, with `serverStatus` (DOWN while a server is ejected for refusing). */
export function udpServiceView(s: UdpServiceRuntime): Record<string, unknown> {
  return serviceView({ ...s, serverStatus: () => s.picker?.status() ?? {} });
}
