import t from 'tap';
import { Counter, Gauge, Registry } from 'prom-client';
import { groupMetricsText } from '../../src/workers/group-metrics';

/**
 * The group's /metrics from real registries: what workers observe is
 * summed, what describes shared state is the primary's alone (a worker's
 * own copy of it would double it), and the start time is kept.
 */
function registry(requests: number, serverUp: number, startedAt: number): Registry {
  const r = new Registry();
  new Counter({ name: 'portier_router_requests_total', help: 'h', labelNames: ['router'], registers: [r] }).labels('a@file').inc(requests);
  new Gauge({ name: 'portier_service_server_up', help: 'h', labelNames: ['service'], registers: [r] }).labels('s@file').set(serverUp);
  new Gauge({ name: 'portier_process_start_time_seconds', help: 'h', registers: [r], aggregator: 'omit' }).set(startedAt);
  return r;
}

t.test('workers summed, shared state from the primary', async (t) => {
  const primary = registry(0, 1, 100);
  const workers = await Promise.all([registry(3, 1, 101), registry(4, 1, 102)].map((r) => r.getMetricsAsJSON()));
  const text = await groupMetricsText(primary, workers);
  const value = (line: string): number => Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').pop());
  t.equal(value('portier_router_requests_total{router="a@file"}'), 7, 'requests: 3 + 4');
  t.equal(value('portier_service_server_up{service="s@file"}'), 1, 'server up: the primary\'s 1, not 1 + 1 + 1');
  t.equal(value('portier_process_start_time_seconds'), 100, 'the primary\'s start time, which the aggregation would omit');
});
