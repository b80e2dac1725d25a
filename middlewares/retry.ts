import { boolean, duration, int, object, required, withDefault } from '../src/config/decode';
import { PortierError } from '../src/errors';
import type { Exchange } from '../src/proxy/exchange';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

const options = object({
  attempts: required(check(int, (n) => n >= 1, 'must be at least 1')),
  initialInterval: withDefault(duration, 100),
  retryNonIdempotent: withDefault(boolean, false),
});

/**
 * Tries the request again (up to `attempts` tries in all) when the upstream
 * refused or reset the connection, waiting `initialInterval` doubled at each
 * try. Only before any byte of the response went out, only for a request
 * without a body (it has been consumed by the failed try), and only for
 * idempotent methods unless `retryNonIdempotent` (a Portier extension) is set.
 */
export default defineMiddleware({
  type: 'retry',
  options,
  create(opts) {
    return (next) => async (ex) => {
      const retryable = (opts.retryNonIdempotent || IDEMPOTENT.has(ex.req.method ?? 'GET')) && !hasBody(ex);
      for (let attempt = 1; ; attempt++) {
        try {
          return await next(ex);
        } catch (err) {
          const again =
            retryable &&
            attempt < opts.attempts &&
            err instanceof PortierError &&
            err.code === 'UPSTREAM_REFUSED' &&
            !ex.res.headersSent &&
            !ex.res.destroyed;
          if (!again) throw err;
          ex.retryAttempts++;
          const wait = opts.initialInterval * 2 ** (attempt - 1);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }
    };
  },
});

function hasBody(ex: Exchange): boolean {
  const h = ex.req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}
