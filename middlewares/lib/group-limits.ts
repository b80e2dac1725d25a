import { defineGroupState, groupCall, inWorkerGroup } from '../../src/workers/group-state';
import { BucketLimits, Take, TokenBuckets } from './tokenBucket';

/**
 * rateLimit's buckets and inFlightReq's counts, kept once for a worker
 * group (docs/workers.md): in one process they live here; in a worker every
 * decision is the primary's, asked over IPC (calls of one loop turn go as
 * one message), so a limit holds whichever worker a connection reached.
 * A middleware is known to the primary by its type and options: two with
 * the same options share their state per source.
 */

export interface RateLimiter {
  take(source: string): Take | Promise<Take>;
}

export interface InFlightCounter {
  /** True when the source is under its cap; the request then counts until release(). */
  acquire(source: string): boolean | Promise<boolean>;
  release(source: string): void;
}

interface RateCall {
  id: string;
  limits: BucketLimits;
  source: string;
}

interface InFlightCall {
  id: string;
  amount: number;
  source: string;
  release?: true;
}

/** Counts per source, capped at `amount`. */
class Counts {
  private readonly n = new Map<string, number>();

  acquire(source: string, amount: number): boolean {
    const n = this.n.get(source) ?? 0;
    if (n >= amount) return false;
    this.n.set(source, n + 1);
    return true;
  }

  release(source: string, by = 1): void {
    const left = (this.n.get(source) ?? by) - by;
    if (left <= 0) this.n.delete(source);
    else this.n.set(source, left);
  }

  entries(): IterableIterator<[string, number]> {
    return this.n.entries();
  }
}

const buckets = new Map<string, TokenBuckets>();
defineGroupState('rateLimit', {
  answer(_worker, payload) {
    const { id, limits, source } = payload as RateCall;
    let b = buckets.get(id);
    if (!b) buckets.set(id, (b = new TokenBuckets(limits)));
    return b.take(source);
  },
});

/** In the primary: the group's counts, and each worker's share of them (released when the worker exits). */
const inFlight = new Map<string, Counts>();
const held = new Map<number, Counts>();
const heldKey = (id: string, source: string): string => `${id}\u0001${source}`;
defineGroupState('inFlightReq', {
  answer(worker, payload) {
    const { id, amount, source, release } = payload as InFlightCall;
    let counts = inFlight.get(id);
    if (!counts) inFlight.set(id, (counts = new Counts()));
    let mine = held.get(worker);
    if (!mine) held.set(worker, (mine = new Counts()));
    if (release) {
      counts.release(source);
      mine.release(heldKey(id, source));
      return true;
    }
    const ok = counts.acquire(source, amount);
    if (ok) mine.acquire(heldKey(id, source), Infinity);
    return ok;
  },
  gone(worker) {
    for (const [key, n] of held.get(worker)?.entries() ?? []) {
      const [id, source] = key.split('\u0001');
      inFlight.get(id)?.release(source, n);
    }
    held.delete(worker);
  },
});

/** A rate limiter for one middleware: local buckets, or the group's in a worker (allowing when the primary is gone). */
export function rateLimiter(limits: BucketLimits, id: string): RateLimiter {
  if (!inWorkerGroup()) return new TokenBuckets(limits);
  return { take: (source) => groupCall<Take>('rateLimit', { id, limits, source } satisfies RateCall, { ok: true })! };
}

export function inFlightCounter(amount: number, id: string): InFlightCounter {
  if (!inWorkerGroup()) {
    const counts = new Counts();
    return { acquire: (source) => counts.acquire(source, amount), release: (source) => counts.release(source) };
  }
  return {
    acquire: (source) => groupCall<boolean>('inFlightReq', { id, amount, source } satisfies InFlightCall, true)!,
    release: (source) => void groupCall('inFlightReq', { id, amount, source, release: true } satisfies InFlightCall, true),
  };
}
