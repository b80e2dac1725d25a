import { boolean, object, required, string, withDefault } from '../src/config/decode';
import { defineMiddleware } from './types';
import { goRegex, goReplacement, regexOption } from './lib/goregex';
import { redirect } from './lib/redirect';
import { requestHost, requestScheme, requestUri } from './lib/respond';

const options = object({
  regex: required(regexOption),
  replacement: required(string),
  permanent: withDefault(boolean, false),
});

/** Redirects when the full request URL (`scheme://host/path?query`) matches; the replacement builds the Location. */
export default defineMiddleware({
  type: 'redirectRegex',
  plain: true,
  options,
  create(opts) {
    const re = goRegex(opts.regex, 'regex', 'g');
    const replacement = goReplacement(opts.replacement);
    return (next) => async (ex) => {
      const url = `${requestScheme(ex)}://${requestHost(ex)}${requestUri(ex)}`;
      re.lastIndex = 0;
      if (!re.test(url)) return next(ex);
      re.lastIndex = 0;
      return redirect(ex, url.replace(re, replacement), opts.permanent);
    };
  },
});
