import type { Registry } from 'prom-client';

/**
 * The request families Traefik keeps per level (entrypoint, router,
 * service): requests, duration histogram, request and response bytes.
 *
 * prom-client hashes and validates labels on every `inc`/`observe`, which
 * cost about a fifth of a proxied request's CPU. Here the hot path adds to
 * plain numbers of a series found once per label set; prom-client only
 * formats them, at scrape time, through metric objects that registries
 * accept (`get()` returning name, help, type and values).
 */
export class RequestSeries {
  requests = 0;
  requestBytes = 0;
  responseBytes = 0;
  durationSum = 0;
  /** Per bucket, not cumulative; the last slot is +Inf. */
  readonly counts: number[];

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  record(seconds: number, bytesIn: number, bytesOut: number): void {
    this.requests++;
    this.requestBytes += bytesIn;
    this.responseBytes += bytesOut;
    this.durationSum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    this.counts[i]++;
  }
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export class RequestFamilies {
  private readonly series = new Map<string, RequestSeries>();

  constructor(
    registry: Registry,
    prefix: string,
    level: 'entrypoint' | 'router' | 'service',
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {
    const name = `${prefix}_${level}`;
    const part = `on a ${level}, partitioned by status code, protocol, and method.`;
    this.register(registry, `${name}_requests_total`, `How many HTTP requests processed ${part}`, 'counter', (s) => s.requests);
    this.register(registry, `${name}_requests_bytes_total`, `The total size of requests in bytes handled by a ${level}, partitioned by status code, protocol, and method.`, 'counter', (s) => s.requestBytes);
    this.register(registry, `${name}_responses_bytes_total`, `The total size of responses in bytes handled by a ${level}, partitioned by status code, protocol, and method.`, 'counter', (s) => s.responseBytes);
    const histogram = `${name}_request_duration_seconds`;
    registry.registerMetric({
      name: histogram,
      get: async () => ({ name: histogram, help: `How long it took to process the request ${part}`, type: 'histogram', aggregator: 'sum', values: this.histogramValues(histogram) }),
    } as never);
  }

  /** The series of one label set (values in `labelNames` order), created on first use. */
  get(values: readonly string[]): RequestSeries {
    const key = values.join('\u0001');
    let s = this.series.get(key);
    if (!s) {
      s = new RequestSeries(Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]])), this.buckets);
      this.series.set(key, s);
    }
    return s;
  }

  remove(values: readonly string[]): void {
    this.series.delete(values.join('\u0001'));
  }

  private register(registry: Registry, name: string, help: string, type: 'counter', pick: (s: RequestSeries) => number): void {
    registry.registerMetric({
      name,
      get: async () => ({ name, help, type, aggregator: 'sum', values: [...this.series.values()].map((s) => ({ labels: s.labels, value: pick(s) })) }),
    } as never);
  }

  private histogramValues(name: string): MetricValue[] {
    const out: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i];
        out.push({ metricName: `${name}_bucket`, labels: { le, ...s.labels }, value: cumulative });
      });
      out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: cumulative + s.counts[this.buckets.length] });
      out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.durationSum });
      out.push({ metricName: `${name}_count`, labels: s.labels, value: s.requests });
    }
    return out;
  }
}
