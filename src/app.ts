import type { StaticConfig } from './config/static';
import type { Logger } from './log/logger';
import type { Handler } from './proxy/exchange';
import type { ProviderSnapshot } from './dynamic/model';
import { Gateway, type GatewayOptions } from './server/gateway';
import { TlsManager } from './tls/index';
import { CHALLENGE_PATH } from './tls/challenges';
import type { PreRouting } from './server/entrypoint';
import { entryPointRedirect } from './server/redirect-entrypoint';
import { tlsRouters, mergedTlsConfig } from './tls-wiring';
import { createApiHandler, createPingHandler } from './api/api-handler';
import { isLoopbackAddress } from './server/address';
import { buildPlugins, middlewareTypes } from './plugins';
import type { Engine } from './engine/index';
import { createObservability } from './metrics/observability';
import type { PortierMetrics } from './metrics/prometheus';

export interface Portier {
  gateway: Gateway;
  engine?: Engine;
  tls: TlsManager;
  close(graceMs?: number): Promise<void>;
  /** What a close() in progress is still waiting for, for a stop that gives up at a deadline to say so. */
  pending(): string[];
  /** The `name@internal` services; with workers, the primary answers the workers' requests to them (src/workers/). */
  internal: Record<string, Handler>;
  metrics?: PortierMetrics;
}

export interface StartOptions {
  /** Folder relative paths in the configuration resolve against (the config file's). */
  baseDir?: string;
  engineSocket?: string;
  /** Runs once every entrypoint listens, before any provider starts (privileges.ts: giving up root). */
  listening?: () => void;
  /** Which listeners to bind (GatewayOptions.bind); the primary of a worker group binds none of TCP. */
  bind?: GatewayOptions['bind'];
}

/**
 * The composition root: static configuration in, a started gateway out,
 * with its providers and its internal services (API, ping).
 */
export async function startPortier(config: StaticConfig, log: Logger, opts: StartOptions = {}): Promise<Portier> {
  let terminating = false;
  const startedAt = new Date();
  const tls = new TlsManager({ resolvers: config.certificatesResolvers, dataDir: config.dataDir, logger: log });
  const plugins = buildPlugins(config, opts.baseDir ?? process.cwd(), log, opts.engineSocket);
  const { providers } = plugins;
  const preRouting: PreRouting[] = tls.httpChallengeEntryPoints().map((entryPoint) => ({
    entryPoint,
    pathPrefix: CHALLENGE_PATH,
    answer: (req, res) => tls.challengeResponder(req, res),
  }));
  for (const [name, ep] of Object.entries(config.entryPoints)) {
    const r = ep.http?.redirections?.entryPoint;
    if (r) preRouting.push({ entryPoint: name, answer: entryPointRedirect(r, config.entryPoints) });
  }
  const obs = createObservability(config, log, {
    table: () => gateway.table,
    reloads: () => gateway.reloads,
    certificates: () => tls.certificates(),
    providers: () => providers.map((p) => p.name),
    port: (ep) => gateway.port(ep),
  });
  const internal = internalRoutes(config, log, {
    ...obs.handlers,
    api: () =>
      obs.withApiRoutes(createApiHandler({
        table: () => gateway.table,
        config,
        providers: () => providers.map((p) => p.name),
        startedAt,
        extra: { '/api/tls/certificates': () => tls.certificates(), '/api/tls/orders': () => tls.failedOrders(), '/api/tls/cluster': () => tls.cluster() },
      })),
    ping: () => createPingHandler(() => terminating, config.ping?.terminatingStatusCode ?? 503),
  });
  const gateway = new Gateway({
    config, providers, middlewareTypes, log, internal, preRouting, observers: obs.observers,
    tlsFor: () => tls.httpsServerOptions(),
    routerTls: (t) => tls.routerProblems(t),
    bind: opts.bind,
  });
  gateway.onChange((table, snapshots) => {
    tls.update(mergedTlsConfig(snapshots.values()), tlsRouters(table, config));
    obs.tableChanged(table);
  });
  try {
    await gateway.start(opts.listening);
  } catch (err) {
    await plugins.close();
    await tls.close();
    await obs.close();
    throw err;
  }
  for (const server of gateway.secureServers().values()) tls.attach(server);
  await plugins.afterStart();
  const closing = new Set<string>();
  const step = async (what: string, work: Promise<void>): Promise<void> => {
    closing.add(what);
    try {
      await work;
    } finally {
      closing.delete(what);
    }
  };
  return {
    gateway,
    engine: plugins.engine,
    tls,
    async close(graceMs) {
      terminating = true;
      // Live event streams never end by themselves; a graceful stop would wait for them.
      obs.events.close();
      // ACME orders are abandoned at once, not after the drain: an order against an unreachable CA could
      // outlast any grace period, and the attempt is persisted, so the next start keeps to the schedule.
      const acmeStopped = step('ACME resolvers', tls.close());
      // Routes go first, so no request is sent to a replica that is about to stop.
      await step('gateway (providers, in-flight requests)', gateway.close(graceMs));
      await step('runtime engine', plugins.close());
      await acmeStopped;
      await step('metrics and access log', obs.close());
    },
    pending: () => [...closing, ...tls.pending()],
    internal: internal.services,
    metrics: obs.metrics,
  };
}

/**
 * Routes to `api@internal` and `ping@internal` on the `traefik`
 * entrypoint. The API is served there only when that entrypoint is bound to
 * loopback, or with `api.insecure: true` (logged as a warning).
 */
export function internalRoutes(
  config: StaticConfig,
  log: Logger,
  make: { api: () => Handler; ping: () => Handler; dashboard?: Handler; metrics?: Handler },
): { services: Record<string, Handler>; snapshot: ProviderSnapshot } {
  const services: Record<string, Handler> = {};
  const routers: Record<string, { rule: string; entryPoints: string[]; service: string; priority: number }> = {};
  const top = Number.MAX_SAFE_INTEGER - 1000;
  if (config.api) {
    // The services always exist, so a user's own router (with basicAuth or ipAllowList) can reach them
    // on any entrypoint; the automatic, unauthenticated routers only on loopback or with `insecure`.
    services['api@internal'] = make.api();
    if (make.dashboard) services['dashboard@internal'] = make.dashboard;
    const ep = config.entryPoints.traefik;
    const loopback = ep && isLoopbackAddress(ep.address);
    if (ep && (loopback || config.api.insecure)) {
      if (!loopback) log.warn('api.insecure: the API and dashboard are served without authentication on a non-loopback address', { address: ep.address });
      routers.api = { rule: 'PathPrefix(`/api`)', entryPoints: ['traefik'], service: 'api@internal', priority: top };
      if (make.dashboard) {
        routers.dashboard = { rule: 'Path(`/dashboard`) || PathPrefix(`/dashboard/`)', entryPoints: ['traefik'], service: 'dashboard@internal', priority: top };
      }
    } else if (ep) {
      log.warn('api: no automatic route, because the traefik entrypoint is not on loopback; route to api@internal behind basicAuth or ipAllowList, or set api.insecure: true', { address: ep.address });
    }
  }
  if (config.ping) {
    services['ping@internal'] = make.ping();
    routers.ping = { rule: 'Path(`/ping`)', entryPoints: [config.ping.entryPoint], service: 'ping@internal', priority: top };
  }
  const prom = config.metrics?.prometheus;
  if (prom && make.metrics) {
    services['prometheus@internal'] = make.metrics;
    if (!prom.manualRouting) routers.prometheus = { rule: 'Path(`/metrics`)', entryPoints: [prom.entryPoint], service: 'prometheus@internal', priority: top };
  }
  return { services, snapshot: { provider: 'internal', config: { http: { routers } } } };
}
