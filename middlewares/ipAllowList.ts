import { int, list, object, optional, required, withDefault } from '../src/config/decode';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { cidrOption, ipSet } from './lib/ipnet';
import { respond } from './lib/respond';
import { ipPicker, ipStrategyOptions } from './lib/source';

const options = object({
  sourceRange: required(list(cidrOption)),
  ipStrategy: optional(ipStrategyOptions),
  rejectStatusCode: withDefault(check(int, (n) => n >= 400 && n <= 599, 'must be an HTTP error status (400-599)'), 403),
});

/** Lets through only clients whose address (per ipStrategy) is in sourceRange; others get 403. */
export default defineMiddleware({
  type: 'ipAllowList',
  plain: true,
  options,
  create(opts) {
    const allowed = ipSet(opts.sourceRange);
    const pick = ipPicker(opts.ipStrategy);
    return (next) => async (ex) => {
      const ip = pick(ex);
      if (ip === '' || !allowed.contains(ip)) return respond(ex, opts.rejectStatusCode, {}, 'Forbidden\n');
      await next(ex);
    };
  },
});
