import type { RoutingTable } from '../routing/table';
import type { RouterRuntime, ServiceRuntime, MiddlewareRuntime } from '../routing/runtime';
import { redactMiddlewareOptions } from './redact';
import type { UdpRouterRuntime, UdpServiceRuntime } from '../udp/table';
import { tcpOverview, tcpRawdata } from './tcp-views';

/**
 * The API's views of the routing table, in Traefik's field names so that
 * existing tooling (dashboards, scripts) reads them unchanged.
 */
export function routerView(r: RouterRuntime): Record<string, unknown> {
  return {
    entryPoints: r.entryPoints,
    ...(r.middlewares.length ? { middlewares: r.middlewares } : {}),
    service: r.service ?? r.config.service,
    rule: r.config.rule,
    ...(r.rule ? { ruleSyntax: r.rule.syntax } : {}),
    priority: r.priority,
    ...(r.config.tls ? { tls: r.config.tls } : {}),
    status: r.status,
    ...(r.errors.length ? { error: r.errors } : {}),
    ...(r.warnings.length ? { warning: r.warnings } : {}),
    using: r.entryPoints,
    name: r.name,
    provider: r.provider,
  };
}

export function serviceView(s: ServiceRuntime): Record<string, unknown> {
  const type = Object.keys(s.config)[0]?.toLowerCase();
  const serverStatus = s.serverStatus();
  return {
    ...s.config,
    status: s.status,
    ...(s.errors.length ? { error: s.errors } : {}),
    ...(s.warnings.length ? { warning: s.warnings } : {}),
    usedBy: s.usedBy,
    ...(Object.keys(serverStatus).length ? { serverStatus } : {}),
    name: s.name,
    provider: s.provider,
    type,
  };
}

export function middlewareView(m: MiddlewareRuntime): Record<string, unknown> {
  const [key] = Object.keys(m.config);
  return {
    [m.type]: redactMiddlewareOptions(m.type, m.config[key]),
    status: m.status,
    ...(m.errors.length ? { error: m.errors } : {}),
    ...(m.warnings.length ? { warning: m.warnings } : {}),
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
    tcp: tcpOverview(table.tcp, counts),
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
    ...tcpRawdata(table.tcp),
    udpRouters: byName(table.udp.routers.values(), udpRouterView),
    udpServices: byName(table.udp.services.values(), udpServiceView),
  };
}

/** Traefik's UDP router fields; `stats` (Portier's) counts its sessions, datagrams and bytes since it appeared. */
export function udpRouterView(r: UdpRouterRuntime): Record<string, unknown> {
  return {
    entryPoints: r.config.entryPoints ?? [],
    service: r.service ?? r.config.service,
    status: r.status,
    ...(r.errors.length ? { error: r.errors } : {}),
    ...(r.warnings.length ? { warning: r.warnings } : {}),
    using: r.using,
    stats: { ...r.counters },
    name: r.name,
    provider: r.provider,
  };
}

/** Traefik's UDP service fields, with `serverStatus` (DOWN while a server is ejected for refusing). */
export function udpServiceView(s: UdpServiceRuntime): Record<string, unknown> {
  const serverStatus = s.picker?.status() ?? {};
  return {
    ...s.config,
    status: s.status,
    ...(s.errors.length ? { error: s.errors } : {}),
    ...(s.warnings.length ? { warning: s.warnings } : {}),
    usedBy: s.usedBy,
    ...(Object.keys(serverStatus).length ? { serverStatus } : {}),
    name: s.name,
    provider: s.provider,
    type: Object.keys(s.config)[0]?.toLowerCase(),
  };
}
