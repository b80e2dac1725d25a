import { object, required, string } from '../src/config/decode';
import { defineMiddleware } from './types';
import { ensureLeadingSlash } from './lib/paths';

const options = object({ prefix: required(string) });

/** Prepends a prefix to the upstream path. */
export default defineMiddleware({
  type: 'addPrefix',
  plain: true,
  options,
  create({ prefix }) {
    return (next) => async (ex) => {
      ex.path = ensureLeadingSlash(prefix + ex.path);
      await next(ex);
    };
  },
});
