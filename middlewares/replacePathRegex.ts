import { object, required, string, withDefault } from '../src/config/decode';
import { defineMiddleware } from './types';
import { regexOption, goRegex, goReplacement } from './lib/goregex';
import { ensureLeadingSlash } from './lib/paths';

const options = object({ regex: required(regexOption), replacement: withDefault(string, '') });

/** Rewrites the upstream path with a regex and a `$1`/`${name}` replacement when the regex matches. */
export default defineMiddleware({
  type: 'replacePathRegex',
  plain: true,
  options,
  create(opts) {
    const re = goRegex(opts.regex, 'regex', 'g');
    const replacement = goReplacement(opts.replacement);
    return (next) => async (ex) => {
      re.lastIndex = 0;
      if (re.test(ex.path)) {
        ex.req.headers['x-replaced-path'] = ex.path;
        ex.path = ensureLeadingSlash(ex.path.replace(re, replacement));
      }
      await next(ex);
    };
  },
});
