import type { StaticConfig } from '../config/static';
import { readDynamicFiles, type FileRead } from '../../providers/file/read';
import { Gateway } from '../server/gateway';
import type { RoutingTable } from '../routing/table';
import type { Handler } from '../proxy/exchange';
import { internalRoutes } from '../app';
import { middlewareTypes } from '../plugins';
import { silentLogger } from '../log/logger';

/** Stands for an internal service (api, ping, …): its routers compile, and nothing is ever served offline. */
const notServed: Handler = async () => {
  throw new Error('not served: compiled offline');
};

/**
 * The file provider's configuration compiled as a running Portier compiles
 * it (its entrypoints, internal services, middleware registry), without
 * listening: `portier check` reports what the gateway would, and `portier
 * explain` answers without a running instance. A read the provider would
 * refuse is compiled anyway, so that its other mistakes are found too.
 */
export async function withOfflineTable<T>(config: StaticConfig, use: (table: RoutingTable, read: FileRead | undefined) => T): Promise<T> {
  const fp = config.providers.file;
  const read = fp && (fp.filename || fp.directory) ? readDynamicFiles(fp) : undefined;
  const internal = internalRoutes(config, silentLogger, {
    api: () => notServed,
    ping: () => notServed,
    dashboard: config.api?.dashboard ? notServed : undefined,
    metrics: config.metrics?.prometheus ? notServed : undefined,
  });
  // Every entrypoint of a running Portier ends TLS; this one never listens, so no certificate is needed.
  const gateway = new Gateway({ config, providers: [], middlewareTypes, log: silentLogger, internal, tlsFor: () => ({}) });
  try {
    gateway.push({ provider: 'file', config: read?.config ?? {}, errors: read?.objectErrors, warnings: read?.warnings });
    gateway.flush();
    return use(gateway.table, read);
  } finally {
    await gateway.close(0);
  }
}
