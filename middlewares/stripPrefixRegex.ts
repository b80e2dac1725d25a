import { list, object, required } from '../src/config/decode';
import { defineMiddleware } from './types';
import { regexOption, goRegex } from './lib/goregex';
import { ensureLeadingSlash } from './lib/paths';

const options = object({ regex: required(list(regexOption)) });

/** Removes the prefix matched by the first regex that matches at the start of the path. */
export default defineMiddleware({
  type: 'stripPrefixRegex',
  plain: true,
  options,
  create({ regex }) {
    const res = regex.map((r, i) => goRegex(r, `regex[${i}]`));
    return (next) => async (ex) => {
      for (const re of res) {
        const m = re.exec(ex.path);
        if (m && m.index === 0 && m[0] !== '') {
          ex.path = ensureLeadingSlash(ex.path.slice(m[0].length));
          ex.req.headers['x-forwarded-prefix'] = m[0];
          break;
        }
      }
      await next(ex);
    };
  },
});
