import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Handler } from '../proxy/exchange';

/**
 * `/metrics` of a worker group: one set of series, as one process would
 * show. What the workers observe (requests, connections, retries, TCP and
 * process figures) comes from each worker and is merged by prom-client's
 * cluster aggregation (counters and histograms summed, process figures by
 * their own aggregator); what describes the group's shared state (reloads,
 * server health, certificates, UDP, which the primary serves, and the
 * group's start time) comes from the primary alone, since every worker
 * would report it again.
 */
const PRIMARY_ONLY = /_config_reloads_total$|_config_last_reload_success(_timestamp_seconds)?$|_service_server_up$|_tls_certs_not_after$|_udp_|process_start_time_seconds$/;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** The group's exposition text: the primary's registry with the workers' families (as getMetricsAsJSON gives them). */
export async function groupMetricsText(primary: Registry, workers: unknown[][]): Promise<string> {
  // prom-client omits the start time from an aggregate; one value only is kept as it is.
  const own = (await primary.getMetricsAsJSON()).map((m) => (PRIMARY_ONLY.test(m.name) ? { ...m, aggregator: 'first' as const } : m));
  const observed = workers.map((w) => (w as MetricsJson).filter((m) => !PRIMARY_ONLY.test(m.name)));
  return AggregatorRegistry.aggregate([own, ...observed] as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
}

export function groupMetricsHandler(primary: Registry, askWorkers: () => Promise<unknown[][]>): Handler {
  return async (ex) => {
    const text = await groupMetricsText(primary, await askWorkers());
    ex.res.writeHead(200, { 'content-type': primary.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    ex.res.end(ex.req.method === 'HEAD' ? undefined : text);
  };
}
