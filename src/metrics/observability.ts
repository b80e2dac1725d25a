import type { StaticConfig } from '../config/static';
import type { Logger } from '../log/logger';
import type { Handler } from '../proxy/exchange';
import type { RoutingTable } from '../routing/table';
import type { RequestObserver } from '../server/observer';
import type { MetricsOptions, PortierMetrics } from './prometheus';
import { createAccessLog, AccessLog } from '../log/access-log';
import { createEventStream, EventStream } from '../api/dashboard/events';
import { createDashboardHandler } from '../api/dashboard/serve';
import { createExplainHandler } from '../explain/api';
import { overview, rawdata } from '../api/views';
import { isTlsEntryPoint } from '../server/gateway';
import { tcpEntryPoints } from '../udp/front';

export interface ObservabilityDeps {
  table: () => RoutingTable;
  reloads: MetricsOptions['reloads'];
  certificates?: MetricsOptions['certificates'];
  providers: () => string[];
  /** Port an entrypoint listens on, for explain's entrypoint choice. */
  port: (entryPoint: string) => number;
}

/**
 * Metrics, access log, dashboard, live events and explain, built from the
 * static configuration; the composition root routes to `handlers` and
 * reports table changes and finished requests here.
 */
export interface Observability {
  readonly observers: RequestObserver[];
  readonly metrics?: PortierMetrics;
  readonly accessLog?: AccessLog;
  readonly events: EventStream;
  /** `prometheus@internal` and `dashboard@internal`, when configured. */
  readonly handlers: { metrics?: Handler; dashboard?: Handler };
  /** Puts `/api/explain` and `/api/events` in front of the API handler. */
  withApiRoutes(api: Handler): Handler;
  tableChanged(table: RoutingTable): void;
  close(): Promise<void>;
}

export function createObservability(config: StaticConfig, log: Logger, deps: ObservabilityDeps): Observability {
  const prom = config.metrics?.prometheus;
  // prom-client (and what it loads) only for a configuration with metrics: 20-30 ms of every start otherwise.
  const metrics = prom ? (require('./prometheus') as typeof import('./prometheus')).createMetrics({ ...prom, addInternals: config.metrics?.addInternals, table: deps.table, reloads: deps.reloads, certificates: deps.certificates }) : undefined;
  const accessLog = config.accessLog ? createAccessLog(config.accessLog, log.child({ component: 'accessLog' })) : undefined;
  const features = { accessLog: Boolean(config.accessLog), metrics: prom ? 'prometheus' : '', tracing: '' };
  const events = createEventStream(() => ({ overview: overview(deps.table(), deps.providers(), features), rawdata: rawdata(deps.table()) }));
  const explain = createExplainHandler(deps.table, () => Object.entries(tcpEntryPoints(config.entryPoints)).map(([name, ep]) => ({ name, port: deps.port(name), tls: isTlsEntryPoint(name, ep) })));
  const routes: Record<string, Handler> = { '/api/explain': explain, '/api/events': events.handler };
  return {
    observers: [metrics?.observer, accessLog].filter((o): o is RequestObserver => o !== undefined),
    metrics,
    accessLog,
    events,
    handlers: { metrics: metrics?.handler, dashboard: config.api?.dashboard ? createDashboardHandler() : undefined },
    withApiRoutes: (api) => (ex) => (routes[ex.path] ?? api)(ex),
    tableChanged(table) {
      metrics?.tableChanged(table);
      events.changed();
    },
    async close() {
      events.close();
      await accessLog?.close();
    },
  };
}
