import type { StaticConfig } from '../config/static';
import { graceMs } from './grace';
import type { Logger } from '../log/logger';
import { startPortier, type Portier, type StartOptions } from '../app';
import { PortierError } from '../errors';
import { groupMetricsHandler } from './group-metrics';
import { serveInternal, type InternalServer } from './internal-bridge';
import { LineRelay } from './line-relay';
import { WorkerGroup } from './group';
import { internalSocketPath } from './messages';

/**
 * The primary of `workers: N` (docs/workers.md): providers, ACME, health
 * checks, the runtime core and the API run here, once; every TCP
 * entrypoint is served by the workers (UDP ones here: a datagram session
 * must stay with one process). Resolves once the workers serve, with a
 * Portier whose close() drains the workers first, within the grace period.
 */
export async function startPrimary(config: StaticConfig, log: Logger, opts: StartOptions = {}): Promise<Portier> {
  if (config.user) throw new PortierError('CONFIG_INVALID', 'not supported with workers above 1 (the workers bind the ports after the primary starts): start as the user, or with workers: 1', { path: 'user' });
  const socketPath = internalSocketPath(process.pid);
  const portier = await startPortier(config, log, { ...opts, bind: { tcp: false, udp: true } });
  const relay = new LineRelay(config.accessLog?.filePath, log);
  let group: WorkerGroup | undefined;
  let internal: InternalServer;
  try {
    const metrics = portier.metrics && groupMetricsHandler(portier.metrics.registry, () => group?.metrics() ?? Promise.resolve([]));
    internal = await serveInternal(socketPath, portier.internal, { challenge: portier.tls.challengeResponder, metrics }, log);
  } catch (err) {
    await portier.close(0);
    throw err;
  }
  group = new WorkerGroup(portier, { count: config.workers, log, relay });
  try {
    await group.serving(30_000);
  } catch (err) {
    await group.drain(0);
    await internal.close();
    await portier.close(0);
    await relay.close();
    throw err;
  }
  const started = group;
  let draining = false;
  return {
    ...portier,
    async close(grace = graceMs(config)) {
      draining = true;
      // First, as one process closes its live event streams first: a stream the workers relay never ends by itself.
      await internal.close();
      await started.drain(grace);
      draining = false;
      await portier.close(grace);
      await relay.close();
    },
    pending: () => [...(draining ? ['workers (in-flight requests)'] : []), ...portier.pending()],
  };
}
