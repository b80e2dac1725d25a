import type { StaticConfig } from './config/static';
import type { Logger } from './log/logger';
import type { Handler } from './proxy/exchange';
import type { ProviderSnapshot } from './dynamic/model';
import { Gateway } from './server/gateway';
import { createApiHandler, createPingHandler } from './api/api-handler';
import { isLoopbackAddress } from './server/address';
import { buildPlugins, middlewareTypes } from './plugins';
import type { Engine } from './engine/index';

export interface Portier {
  gateway: Gateway;
  engine?: Engine;
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Folder relative paths in the configuration resolve against (the config file's). */
  baseDir?: string;
  engineSocket?: string;
}

/**
 * The composition root: static configuration in, a started gateway out,
 * with its providers and its internal services (API, ping).
 */
export async function startPortier(config: StaticConfig, log: Logger, opts: StartOptions = {}): Promise<Portier> {
  let terminating = false;
  const startedAt = new Date();
  const plugins = buildPlugins(config, opts.baseDir ?? process.cwd(), log, opts.engineSocket);
  const { providers } = plugins;
  const internal = internalRoutes(config, log, {
    api: () =>
      createApiHandler({
        table: () => gateway.table,
        config,
        providers: () => providers.map((p) => p.name),
        startedAt,
      }),
    ping: () => createPingHandler(() => terminating, config.ping?.terminatingStatusCode ?? 503),
  });
  const gateway = new Gateway({ config, providers, middlewareTypes, log, internal });
  try {
    await gateway.start();
  } catch (err) {
    await plugins.close();
    throw err;
  }
  await plugins.afterStart();
  return {
    gateway,
    engine: plugins.engine,
    async close(graceMs) {
      terminating = true;
      // Routes go first, so no request is sent to a replica that is about to stop.
      await gateway.close(graceMs);
      await plugins.close();
    },
  };
}

/**
 * Routes to `api@internal` and `ping@internal` on the `traefik`
 * entrypoint. The API is served there only when that entrypoint is bound to
 * loopback, or with `api.insecure: true` (logged as a warning).
 */
function internalRoutes(
  config: StaticConfig,
  log: Logger,
  make: { api: () => Handler; ping: () => Handler },
): { services: Record<string, Handler>; snapshot: ProviderSnapshot } {
  const services: Record<string, Handler> = {};
  const routers: Record<string, { rule: string; entryPoints: string[]; service: string; priority: number }> = {};
  const top = Number.MAX_SAFE_INTEGER - 1000;
  if (config.api) {
    const ep = config.entryPoints.traefik;
    const loopback = ep && isLoopbackAddress(ep.address);
    if (ep && (loopback || config.api.insecure)) {
      if (!loopback) log.warn('api.insecure: the API and dashboard are served without authentication on a non-loopback address', { address: ep.address });
      services['api@internal'] = make.api();
      routers.api = { rule: 'PathPrefix(`/api`)', entryPoints: ['traefik'], service: 'api@internal', priority: top };
    } else if (ep) {
      log.warn('api: not served, because the traefik entrypoint is not on loopback; set api.insecure: true to serve it anyway (put basicAuth or ipAllowList in front)', { address: ep.address });
    }
  }
  if (config.ping) {
    services['ping@internal'] = make.ping();
    routers.ping = { rule: 'Path(`/ping`)', entryPoints: [config.ping.entryPoint], service: 'ping@internal', priority: top };
  }
  return { services, snapshot: { provider: 'internal', config: { http: { routers } } } };
}
