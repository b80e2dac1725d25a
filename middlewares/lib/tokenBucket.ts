/**
 * Token buckets keyed by request source. A bucket holds up to `burst`
 * tokens and refills at `average` tokens per `periodMs`; a request takes one
 * token or is told how long to wait for the next. A bucket idle long enough
 * to be full again is indistinguishable from a new one, which is what lets
 * the table forget idle sources and stay bounded.
 */
export interface BucketLimits {
  average: number;
  periodMs: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;
  private readonly fullAfterMs: number;

  constructor(
    private readonly limits: BucketLimits,
    private readonly maxSources = 65_536,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.ratePerMs = limits.average / limits.periodMs;
    this.fullAfterMs = limits.burst / this.ratePerMs;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string): Take {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.limits.burst, at: now };
      if (this.buckets.size >= this.maxSources) this.evict(now);
    } else {
      b.tokens = Math.min(this.limits.burst, b.tokens + (now - b.at) * this.ratePerMs);
      b.at = now;
      // Re-inserting keeps the map in least-recently-used order for eviction.
      this.buckets.delete(key);
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: (1 - b.tokens) / this.ratePerMs };
  }

  private evict(now: number): void {
    for (const [k, b] of this.buckets) {
      if (now - b.at >= this.fullAfterMs) this.buckets.delete(k);
    }
    // Still full of active sources: forget the least recently seen quarter.
    let drop = this.buckets.size >= this.maxSources ? Math.ceil(this.maxSources / 4) : 0;
    for (const k of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}
