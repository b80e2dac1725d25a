import { int, object, required } from '../src/config/decode';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { respond } from './lib/respond';
import { optionalSourceCriterion, sourceExtractor } from './lib/source';

const options = object({
  amount: required(check(int, (n) => n >= 1, 'must be at least 1')),
  sourceCriterion: optionalSourceCriterion,
});

/**
 * Caps simultaneous requests per source (the request host by default, as in
 * Traefik); a request is in flight until its response is closed. Over the
 * cap: 429.
 */
export default defineMiddleware({
  type: 'inFlightReq',
  plain: true,
  options,
  create(opts) {
    const source = sourceExtractor(opts.sourceCriterion ?? { requestHost: true });
    const inFlight = new Map<string, number>();
    return (next) => async (ex) => {
      const key = source(ex);
      const n = inFlight.get(key) ?? 0;
      if (n >= opts.amount) return respond(ex, 429, {}, 'Too Many Requests\n');
      inFlight.set(key, n + 1);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        const left = (inFlight.get(key) ?? 1) - 1;
        if (left <= 0) inFlight.delete(key);
        else inFlight.set(key, left);
      };
      ex.res.once('close', release);
      try {
        await next(ex);
      } catch (err) {
        release();
        throw err;
      }
    };
  },
});
