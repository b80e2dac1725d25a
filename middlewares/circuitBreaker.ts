import { duration, int, object, required, string, withDefault } from '../src/config/decode';
import type { Decoder } from '../src/config/decode';
import { PortierError } from '../src/errors';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { compileExpression } from './lib/expression';
import type { FunctionSpec } from './lib/expression';
import { respond } from './lib/respond';
import { RollingStats } from './lib/rollingStats';

export const breakerFunctions: Record<string, FunctionSpec<RollingStats>> = {
  NetworkErrorRatio: { args: 0, returns: 'number', call: (s) => s.networkErrorRatio() },
  ResponseCodeRatio: { args: 4, returns: 'number', call: (s, [a, b, c, d]) => s.responseCodeRatio(a, b, c, d) },
  LatencyAtQuantileMS: { args: 1, returns: 'number', call: (s, [q]) => s.latencyAtQuantileMs(q) },
};

const expression: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  compileExpression(s, breakerFunctions, path);
  return s;
};

const options = object({
  expression: required(expression),
  checkPeriod: withDefault(check(duration, (ms) => ms > 0, 'must be longer than 0s'), 100),
  fallbackDuration: withDefault(duration, 10_000),
  recoveryDuration: withDefault(duration, 10_000),
  responseCode: withDefault(check(int, (n) => n >= 100 && n <= 599, 'must be an HTTP status'), 503),
});

const NETWORK = new Set(['UPSTREAM_REFUSED', 'UPSTREAM_TIMEOUT']);

/**
 * Watches outcomes over the last ten seconds and, when the expression holds
 * (checked at most once per checkPeriod), trips: for fallbackDuration every
 * request gets responseCode without reaching the service; then, over
 * recoveryDuration, a growing share of requests goes through again; a trip
 * while recovering opens it again. A trip clears the recorded outcomes.
 */
export default defineMiddleware({
  type: 'circuitBreaker',
  options,
  create(opts) {
    const tripped = compileExpression(opts.expression, breakerFunctions, 'expression');
    const stats = new RollingStats();
    let state: 'closed' | 'open' | 'recovering' = 'closed';
    let since = 0;
    let lastCheck = -Infinity;
    // Outcomes before a trip say nothing about the service once it comes back: judge recovery on fresh ones.
    const trip = (now: number): void => {
      state = 'open';
      since = now;
      stats.reset();
    };
    return (next) => async (ex) => {
      const now = performance.now();
      if (state === 'open' && now - since >= opts.fallbackDuration) {
        state = 'recovering';
        since = now;
      }
      if (state === 'recovering' && now - since >= opts.recoveryDuration) {
        state = 'closed';
        stats.reset();
      }
      if (now - lastCheck >= opts.checkPeriod && state !== 'open') {
        lastCheck = now;
        if (tripped(stats)) trip(now);
      }
      const shareAllowed = state === 'recovering' ? (now - since) / Math.max(1, opts.recoveryDuration) : 1;
      if (state === 'open' || Math.random() >= shareAllowed) {
        return respond(ex, opts.responseCode, {}, 'Service Unavailable\n');
      }
      const started = performance.now();
      try {
        await next(ex);
        stats.record({ status: ex.res.statusCode, networkError: false, latencyMs: performance.now() - started });
      } catch (err) {
        const status = err instanceof PortierError ? err.status ?? 500 : 500;
        const networkError = err instanceof PortierError && NETWORK.has(err.code);
        stats.record({ status, networkError, latencyMs: performance.now() - started });
        throw err;
      }
    };
  },
});
