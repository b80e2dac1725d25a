import type { TcpTable } from '../tcp/tcp-table';
import type { TcpMiddlewareRuntime, TcpRouterRuntime, TcpServiceRuntime } from '../tcp/runtime';

/** The API's TCP objects, in Traefik's field names (`/api/tcp/routers` and the rest). */
export function tcpRouterView(r: TcpRouterRuntime): Record<string, unknown> {
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

export function tcpServiceView(s: TcpServiceRuntime): Record<string, unknown> {
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
    type: Object.keys(s.config)[0]?.toLowerCase(),
  };
}

export function tcpMiddlewareView(m: TcpMiddlewareRuntime): Record<string, unknown> {
  const [key] = Object.keys(m.config);
  return {
    [m.type ? m.type[0].toLowerCase() + m.type.slice(1) : key]: m.config[key],
    status: m.status,
    ...(m.errors.length ? { error: m.errors } : {}),
    ...(m.warnings.length ? { warning: m.warnings } : {}),
    usedBy: m.usedBy,
    name: m.name,
    provider: m.provider,
    type: m.type.toLowerCase(),
  };
}

/** `/api/tcp/<kind>`'s map and view. */
export function tcpKind(table: TcpTable | undefined, kind: string): [ReadonlyMap<string, unknown>, (x: unknown) => Record<string, unknown>] {
  const t = table ?? ({ routers: new Map(), services: new Map(), middlewares: new Map() } as unknown as TcpTable);
  if (kind === 'routers') return [t.routers, tcpRouterView as (x: unknown) => Record<string, unknown>];
  if (kind === 'services') return [t.services, tcpServiceView as (x: unknown) => Record<string, unknown>];
  return [t.middlewares, tcpMiddlewareView as (x: unknown) => Record<string, unknown>];
}

/** The overview's `tcp` counts and rawdata's `tcpRouters`, `tcpServices`, `tcpMiddlewares`. */
export function tcpOverview(table: TcpTable | undefined, counts: (items: Iterable<{ status: string }>) => unknown): Record<string, unknown> {
  return { routers: counts(table?.routers.values() ?? []), services: counts(table?.services.values() ?? []), middlewares: counts(table?.middlewares.values() ?? []) };
}

export function tcpRawdata(table: TcpTable | undefined): Record<string, unknown> {
  const byName = <T extends { name: string }>(items: Iterable<T>, view: (t: T) => Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries([...items].map((i) => [i.name, view(i)]));
  return {
    tcpRouters: byName(table?.routers.values() ?? [], tcpRouterView),
    tcpServices: byName(table?.services.values() ?? [], tcpServiceView),
    tcpMiddlewares: byName(table?.middlewares.values() ?? [], tcpMiddlewareView),
  };
}
