import type { Handler, Exchange } from '../proxy/exchange';
import type { RoutingTable } from '../routing/table';
import type { StaticConfig } from '../config/static';
import { routerView, serviceView, middlewareView, overview, rawdata, udpRouterView, udpServiceView } from './views';
import { VERSION } from '../version';

export interface ApiSource {
  table(): RoutingTable;
  config: StaticConfig;
  providers(): string[];
  startedAt: Date;
  /** Extra `/api/...` routes contributed by other parts (TLS certificates, explain). */
  extra?: Record<string, (ex: Exchange) => unknown>;
}

/**
 * `api@internal`: Traefik's API paths and field names. Read-only: any
 * method but GET and HEAD gets 405. Lists accept `search` and `status`
 * query filters like Traefik's.
 */
export function createApiHandler(src: ApiSource): Handler {
  return async (ex) => {
    const { res } = ex;
    if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
      return;
    }
    const params = new URLSearchParams(ex.query);
    const result = route(src, ex.path, params, ex);
    if (result === undefined) {
      json(ex, 404, { message: `${ex.path} not found` });
      return;
    }
    json(ex, 200, result);
  };
}

function route(src: ApiSource, path: string, params: URLSearchParams, ex: Exchange): unknown {
  const table = src.table();
  const extra = src.extra?.[path];
  if (extra) return extra(ex);
  const m = /^\/api\/(http|tcp|udp)\/(routers|services|middlewares)(?:\/(.+))?$/.exec(path);
  if (m && !(m[1] === 'udp' && m[2] === 'middlewares')) {
    const [, proto, kind, rawName] = m;
    const [map, view] = proto === 'udp' ? udpKind(table, kind) : proto === 'tcp' ? tcpKind(table, kind) : httpKind(table, kind);
    if (rawName) {
      const item = map.get(decodeURIComponent(rawName));
      return item ? view(item) : undefined;
    }
    const search = params.get('search')?.toLowerCase();
    const status = params.get('status');
    return [...map.values()]
      .map(view)
      .filter((v) => (!status || v.status === status) && (!search || JSON.stringify(v).toLowerCase().includes(search)))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }
  switch (path) {
    case '/api/overview':
      return overview(table, src.providers(), { accessLog: Boolean(src.config.accessLog), metrics: src.config.metrics ? 'prometheus' : '', tracing: '' });
    case '/api/entrypoints':
      return Object.entries(src.config.entryPoints).map(([name, ep]) => ({ name, address: ep.address, transport: ep.transport, forwardedHeaders: ep.forwardedHeaders, ...(ep.http ? { http: ep.http } : {}) }));
    case '/api/rawdata':
      return rawdata(table);
    case '/api/version':
      return { Version: VERSION, Codename: 'portier', startDate: src.startedAt.toISOString() };
    default: {
      const ep = /^\/api\/entrypoints\/(.+)$/.exec(path);
      if (ep) {
        const cfg = src.config.entryPoints[decodeURIComponent(ep[1])];
        return cfg ? { name: decodeURIComponent(ep[1]), address: cfg.address, transport: cfg.transport } : undefined;
      }
      return undefined;
    }
  }
}

type Kind = [ReadonlyMap<string, unknown>, (x: unknown) => Record<string, unknown>];

const httpKind = (table: RoutingTable, kind: string): Kind =>
  (kind === 'routers' ? [table.routers, routerView] : kind === 'services' ? [table.services, serviceView] : [table.middlewares, middlewareView]) as Kind;

const tcpKind = (table: RoutingTable, kind: string): Kind => {
  const tcp = table.tcp ?? { routers: new Map(), services: new Map(), middlewares: new Map() };
  return (kind === 'routers' ? [tcp.routers, routerView] : kind === 'services' ? [tcp.services, serviceView] : [tcp.middlewares, middlewareView]) as Kind;
};

const udpKind = (table: RoutingTable, kind: string): Kind => (kind === 'routers' ? [table.udp.routers, udpRouterView] : [table.udp.services, udpServiceView]) as Kind;

function json(ex: Exchange, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  ex.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  ex.res.end(ex.req.method === 'HEAD' ? undefined : text);
}

/** `ping@internal`: 200 OK, or the terminating status while shutting down. */
export function createPingHandler(terminating: () => boolean, terminatingStatus: number): Handler {
  return async (ex) => {
    const status = terminating() ? terminatingStatus : 200;
    const body = status === 200 ? 'OK' : 'Service Unavailable';
    ex.res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
    ex.res.end(ex.req.method === 'HEAD' ? undefined : body);
  };
}
