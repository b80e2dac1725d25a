import { list, object, required, string } from '../src/config/decode';
import { defineMiddleware } from './types';
import { ensureLeadingSlash } from './lib/paths';

const options = object({ prefixes: required(list(string)) });

/** Removes the first matching prefix from the upstream path; the removed prefix goes up in X-Forwarded-Prefix. */
export default defineMiddleware({
  type: 'stripPrefix',
  plain: true,
  options,
  create({ prefixes }) {
    return (next) => async (ex) => {
      const prefix = prefixes.find((p) => p !== '' && ex.path.startsWith(p));
      if (prefix !== undefined) {
        ex.path = ensureLeadingSlash(ex.path.slice(prefix.length));
        ex.req.headers['x-forwarded-prefix'] = prefix;
      }
      await next(ex);
    };
  },
});
