import { Counter, Histogram, Registry } from 'prom-client';

/** The four request families Traefik keeps per level (entrypoint, router, service). */
export interface RequestFamilies {
  requests: Counter<string>;
  duration: Histogram<string>;
  requestBytes: Counter<string>;
  responseBytes: Counter<string>;
}

/** Children of one label set, resolved once and reused for every later request with the same labels. */
export interface RequestChildren {
  requests: { inc(n?: number): void };
  duration: { observe(v: number): void };
  requestBytes: { inc(n?: number): void };
  responseBytes: { inc(n?: number): void };
}

export function requestFamilies(
  registry: Registry,
  prefix: string,
  level: 'entrypoint' | 'router' | 'service',
  labelNames: string[],
  buckets: number[],
): RequestFamilies {
  const name = `${prefix}_${level}`;
  const registers = [registry];
  return {
    requests: new Counter({ name: `${name}_requests_total`, help: `How many HTTP requests processed on a ${level}, partitioned by status code, protocol, and method.`, labelNames, registers }),
    duration: new Histogram({ name: `${name}_request_duration_seconds`, help: `How long it took to process the request on a ${level}, partitioned by status code, protocol, and method.`, labelNames, buckets, registers }),
    requestBytes: new Counter({ name: `${name}_requests_bytes_total`, help: `The total size of requests in bytes handled by a ${level}, partitioned by status code, protocol, and method.`, labelNames, registers }),
    responseBytes: new Counter({ name: `${name}_responses_bytes_total`, help: `The total size of responses in bytes handled by a ${level}, partitioned by status code, protocol, and method.`, labelNames, registers }),
  };
}

export function childrenOf(f: RequestFamilies, values: string[]): RequestChildren {
  return {
    requests: f.requests.labels(...values),
    duration: f.duration.labels(...values),
    requestBytes: f.requestBytes.labels(...values),
    responseBytes: f.responseBytes.labels(...values),
  };
}

export function removeSeries(f: RequestFamilies, values: string[]): void {
  f.requests.remove(...values);
  f.duration.remove(...values);
  f.requestBytes.remove(...values);
  f.responseBytes.remove(...values);
}
