/**
 * Outcomes of recent requests over a sliding window of one-second buckets,
 * what circuitBreaker expressions are evaluated against. Latency samples
 * per bucket are capped (reservoir sampling), so memory is bounded however
 * busy the route is.
 */
interface Bucket {
  second: number;
  total: number;
  networkErrors: number;
  statuses: Map<number, number>;
  latencies: number[];
  seen: number;
}

const SAMPLES_PER_BUCKET = 512;

export class RollingStats {
  private buckets: Bucket[] = [];

  constructor(
    private readonly windowSeconds = 10,
    private readonly now: () => number = () => performance.now(),
  ) {}

  record(outcome: { status: number; networkError: boolean; latencyMs: number }): void {
    const b = this.current();
    b.total++;
    if (outcome.networkError) b.networkErrors++;
    b.statuses.set(outcome.status, (b.statuses.get(outcome.status) ?? 0) + 1);
    b.seen++;
    if (b.latencies.length < SAMPLES_PER_BUCKET) b.latencies.push(outcome.latencyMs);
    else {
      const slot = Math.floor(Math.random() * b.seen);
      if (slot < SAMPLES_PER_BUCKET) b.latencies[slot] = outcome.latencyMs;
    }
  }

  reset(): void {
    this.buckets = [];
  }

  networkErrorRatio(): number {
    const live = this.live();
    const total = sum(live, (b) => b.total);
    return total === 0 ? 0 : sum(live, (b) => b.networkErrors) / total;
  }

  /** Share of statuses in [from, to) among statuses in [dFrom, dTo), as Traefik's ResponseCodeRatio. */
  responseCodeRatio(from: number, to: number, dFrom: number, dTo: number): number {
    let num = 0;
    let den = 0;
    for (const b of this.live()) {
      for (const [status, n] of b.statuses) {
        if (status >= from && status < to) num += n;
        if (status >= dFrom && status < dTo) den += n;
      }
    }
    return den === 0 ? 0 : num / den;
  }

  latencyAtQuantileMs(quantile: number): number {
    const all = this.live().flatMap((b) => b.latencies).sort((a, b) => a - b);
    if (all.length === 0) return 0;
    const q = Math.min(100, Math.max(0, quantile)) / 100;
    return all[Math.min(all.length - 1, Math.max(0, Math.ceil(q * all.length) - 1))];
  }

  private second(): number {
    return Math.floor(this.now() / 1000);
  }

  private live(): Bucket[] {
    const oldest = this.second() - this.windowSeconds + 1;
    this.buckets = this.buckets.filter((b) => b.second >= oldest);
    return this.buckets;
  }

  private current(): Bucket {
    const s = this.second();
    const last = this.buckets[this.buckets.length - 1];
    if (last && last.second === s) return last;
    const b: Bucket = { second: s, total: 0, networkErrors: 0, statuses: new Map(), latencies: [], seen: 0 };
    this.buckets.push(b);
    if (this.buckets.length > this.windowSeconds) this.live();
    return b;
  }
}

const sum = (bs: Bucket[], f: (b: Bucket) => number): number => bs.reduce((acc, b) => acc + f(b), 0);
