import { duration, int, number, object, withDefault } from '../src/config/decode';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { respond } from './lib/respond';
import { optionalSourceCriterion, sourceExtractor } from './lib/source';
import { rateLimiter } from './lib/group-limits';

const options = object({
  average: withDefault(check(number, (n) => n >= 0, 'must not be negative'), 0),
  period: withDefault(check(duration, (ms) => ms > 0, 'must be longer than 0s'), 1000),
  burst: withDefault(check(int, (n) => n >= 1, 'must be at least 1'), 1),
  sourceCriterion: optionalSourceCriterion,
});

/**
 * Token bucket per source (client IP by default): `burst` requests at once,
 * then `average` per `period`. Over the limit: 429 with Retry-After. An
 * average of 0 switches the limit off, as in Traefik. With workers, the
 * buckets are the group's (lib/group-limits.ts).
 */
export default defineMiddleware({
  type: 'rateLimit',
  plain: true,
  options,
  create(opts) {
    if (opts.average === 0) return (next) => next;
    const source = sourceExtractor(opts.sourceCriterion);
    const limiter = rateLimiter({ average: opts.average, periodMs: opts.period, burst: opts.burst }, `rateLimit:${JSON.stringify(opts)}`);
    return (next) => async (ex) => {
      let took = limiter.take(source(ex));
      // One process decides at once; a worker awaits the primary's answer.
      if (took instanceof Promise) took = await took;
      if (!took.ok) {
        const seconds = Math.max(1, Math.ceil(took.retryAfterMs / 1000));
        return respond(ex, 429, { 'retry-after': String(seconds) }, 'Too Many Requests\n');
      }
      await next(ex);
    };
  },
});
