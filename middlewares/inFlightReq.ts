import { int, object, required } from '../src/config/decode';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { respond } from './lib/respond';
import { optionalSourceCriterion, sourceExtractor } from './lib/source';
import { inFlightCounter } from './lib/group-limits';

const options = object({
  amount: required(check(int, (n) => n >= 1, 'must be at least 1')),
  sourceCriterion: optionalSourceCriterion,
});

/**
 * Caps simultaneous requests per source (the request host by default, as in
 * Traefik); a request is in flight until its response is closed. Over the
 * cap: 429. With workers, the counts are the group's (lib/group-limits.ts).
 */
export default defineMiddleware({
  type: 'inFlightReq',
  plain: true,
  options,
  create(opts) {
    const source = sourceExtractor(opts.sourceCriterion ?? { requestHost: true });
    const counter = inFlightCounter(opts.amount, `inFlightReq:${JSON.stringify(opts)}`);
    return (next) => async (ex) => {
      const key = source(ex);
      let held = false;
      let left = false;
      const release = (): void => {
        if (held) counter.release(key);
        held = false;
        left = true;
      };
      // Listened to before asking: a client that leaves while a worker awaits the primary's answer gives its place back.
      ex.res.once('close', release);
      let ok = counter.acquire(key);
      // One process decides at once; a worker awaits the primary's answer.
      if (ok instanceof Promise) ok = await ok;
      if (!ok) return respond(ex, 429, {}, 'Too Many Requests\n');
      if (left) return counter.release(key);
      held = true;
      try {
        await next(ex);
      } catch (err) {
        release();
        throw err;
      }
    };
  },
});
