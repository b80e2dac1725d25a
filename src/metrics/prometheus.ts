import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Handler } from '../proxy/exchange';
import type { RoutingTable } from '../routing/table';
import type { RequestObserver, RequestRecord } from '../server/observer';
import type { TcpConnObserver } from '../tcp/tcp-front';
import { tcpMetrics } from './tcp-families';
import { RequestFamilies, RequestSeries } from './families';
import { isGrpcFamily } from '../proxy/grpc';
import { registerUdpMetrics } from '../udp/metrics';

export interface MetricsOptions {
  /** `portier` by default; `traefik` gives Traefik's exact metric names. */
  prefix: string;
  buckets: number[];
  addEntryPointsLabels: boolean;
  addRoutersLabels: boolean;
  addServicesLabels: boolean;
  /** Count requests to `api@internal`, `prometheus@internal`… too (Traefik's `metrics.addInternals`). */
  addInternals?: boolean;
  /** The table to report servers of; read at scrape time. */
  table: () => RoutingTable;
  reloads: () => { total: number; lastSuccess: boolean; lastAt: number };
  /** Served certificates (the TLS manager's listing); read at scrape time. */
  certificates?: () => { domains: string[]; notAfter: string | Date; serial?: string }[];
  /** Process metrics (CPU, memory, event loop); off in benchmarks that count only request cost. */
  processMetrics?: boolean;
}

export interface PortierMetrics {
  readonly registry: Registry;
  readonly observer: RequestObserver;
  /** Call with each new table: drops the series of routers and services that are gone. */
  tableChanged(table: RoutingTable): void;
  /** `prometheus@internal`: the text exposition format. */
  readonly handler: Handler;
}

/** Traefik folds methods outside the standard set into one label value, bounding cardinality. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

interface Cached {
  router?: string;
  service?: string;
  routerValues?: string[];
  serviceValues?: string[];
  ep?: RequestSeries;
  rt?: RequestSeries;
  svc?: RequestSeries;
  retries?: { inc(n?: number): void };
}

/**
 * Prometheus metrics in Traefik's families and labels, in a registry of
 * their own. The request path costs one string key, one Map lookup and a
 * few additions: the series of each (entrypoint, router, service, code,
 * method, protocol) are found the first time and reused.
 */
export function createMetrics(opts: MetricsOptions): PortierMetrics {
  const registry = new Registry();
  const p = opts.prefix;
  const registers = [registry];
  const ep = new RequestFamilies(registry, p, 'entrypoint', ['code', 'method', 'protocol', 'entrypoint'], opts.buckets);
  const rt = new RequestFamilies(registry, p, 'router', ['code', 'method', 'protocol', 'router', 'service'], opts.buckets);
  const svc = new RequestFamilies(registry, p, 'service', ['code', 'method', 'protocol', 'service'], opts.buckets);
  const retries = new Counter({ name: `${p}_service_retries_total`, help: 'How many request retries happened on a service.', labelNames: ['service'], registers });
  const openConnections = new Gauge({ name: `${p}_open_connections`, help: 'How many open connections exist, by entryPoint and protocol.', labelNames: ['entrypoint', 'protocol'], registers });
  registerUdpMetrics(registry, p, opts.table);
  const tcp = tcpMetrics(registry, p, openConnections);
  let lastSuccessAt = Date.now();
  const noteReload = (): void => {
    const r = opts.reloads();
    if (r.lastSuccess && r.lastAt > 0) lastSuccessAt = r.lastAt;
  };
  new Counter({
    name: `${p}_config_reloads_total`, help: 'Config reloads.', registers,
    collect() {
      this.reset();
      this.inc(opts.reloads().total);
    },
  });
  for (const name of [`${p}_config_last_reload_success`, `${p}_config_last_reload_success_timestamp_seconds`]) {
    new Gauge({
      name, help: 'Last config reload success (Unix time, seconds).', registers,
      collect() {
        noteReload();
        this.set(lastSuccessAt / 1000);
      },
    });
  }
  new Gauge({
    name: `${p}_service_server_up`, help: 'Service server is up, described by gauge value of 0 or 1.', labelNames: ['service', 'url'], registers,
    collect() {
      this.reset();
      for (const s of opts.table().services.values()) {
        for (const [url, state] of Object.entries(s.serverStatus())) this.labels(s.name, url).set(state === 'UP' ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: `${p}_tls_certs_not_after`, help: 'Certificate expiration timestamp (Unix time, seconds).', labelNames: ['cn', 'sans', 'serial'], registers,
    collect() {
      this.reset();
      for (const c of opts.certificates?.() ?? []) {
        const at = new Date(c.notAfter).getTime();
        if (Number.isFinite(at)) this.labels(c.domains[0] ?? '', c.domains.join(','), c.serial ?? '').set(at / 1000);
      }
    },
  });
  // Traefik's process metrics carry no prefix; `traefik` keeps its exact names.
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: p === 'traefik' ? '' : `${p}_` });

  const cache = new Map<string, Cached>();
  // The series of the request before: steady traffic mostly repeats it, and comparing six strings (the same
  // string objects, most of them) costs less than building and hashing the key.
  let last: { ep: string; router?: string; service?: string; code: number; method: string; protocol: string; c: Cached; key: string } | undefined;
  const entry = (r: RequestRecord, method: string, protocol: string): Cached => {
    const { ex } = r;
    const l = last;
    if (l && l.code === r.status && l.router === ex.routerName && l.service === ex.serviceName && l.ep === ex.entryPoint && l.method === method && l.protocol === protocol && cache.get(l.key) === l.c) return l.c;
    const code = String(r.status);
    const key = `${ex.entryPoint}\u0001${ex.routerName ?? ''}\u0001${ex.serviceName ?? ''}\u0001${code}\u0001${method}\u0001${protocol}`;
    let c = cache.get(key);
    if (c) {
      last = { ep: ex.entryPoint, router: ex.routerName, service: ex.serviceName, code: r.status, method, protocol, c, key };
      return c;
    }
    c = { router: ex.routerName, service: ex.serviceName };
    if (opts.addEntryPointsLabels) c.ep = ep.get([code, method, protocol, ex.entryPoint]);
    if (ex.routerName && opts.addRoutersLabels) {
      c.routerValues = [code, method, protocol, ex.routerName, ex.serviceName ?? ''];
      c.rt = rt.get(c.routerValues);
    }
    if (ex.serviceName && opts.addServicesLabels) {
      c.serviceValues = [code, method, protocol, ex.serviceName];
      c.svc = svc.get(c.serviceValues);
      c.retries = retries.labels(ex.serviceName);
      // Exported at 0 from the first request on, so rate() has a series before any retry.
      c.retries.inc(0);
    }
    cache.set(key, c);
    last = { ep: ex.entryPoint, router: ex.routerName, service: ex.serviceName, code: r.status, method, protocol, c, key };
    return c;
  };
  const record = (series: RequestSeries | undefined, seconds: number, r: RequestRecord): void => {
    series?.record(seconds, r.bytesIn, r.bytesOut);
  };

  const observer: RequestObserver & TcpConnObserver = {
    ...tcp,
    requestEnded(r) {
      if (!opts.addInternals && r.ex.serviceName?.endsWith('@internal')) return;
      const method = METHODS.has(r.ex.req.method ?? '') ? (r.ex.req.method as string) : 'EXTENSION_METHOD';
      const protocol = r.ex.upgrade ? 'websocket' : r.ex.req.headers.accept === 'text/event-stream' ? 'sse' : isGrpcFamily(r.ex.req) ? 'grpc' : 'http';
      const c = entry(r, method, protocol);
      const seconds = r.durationMs / 1000;
      record(c.ep, seconds, r);
      record(c.rt, seconds, r);
      record(c.svc, seconds, r);
      if (r.ex.retryAttempts && c.retries) c.retries.inc(r.ex.retryAttempts);
    },
    connectionOpened(entryPoint, protocol) {
      openConnections.labels(entryPoint, protocol).inc();
    },
    connectionClosed(entryPoint, protocol) {
      openConnections.labels(entryPoint, protocol).dec();
    },
  };

  const drop = (f: RequestFamilies, values: string[] | undefined): void => {
    if (values) f.remove(values);
  };

  return {
    registry,
    observer,
    tableChanged(table) {
      noteReload();
      for (const [key, c] of cache) {
        const routerGone = c.router !== undefined && !table.routers.has(c.router);
        const serviceGone = c.service !== undefined && !table.services.has(c.service);
        if (!routerGone && !serviceGone) continue;
        cache.delete(key);
        if (routerGone) drop(rt, c.routerValues);
        if (serviceGone) {
          drop(svc, c.serviceValues);
          if (c.service) retries.remove(c.service);
        }
      }
    },
    handler: async (ex) => {
      const text = await registry.metrics();
      ex.res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      ex.res.end(ex.req.method === 'HEAD' ? undefined : text);
    },
  };
}
