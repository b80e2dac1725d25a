import { boolean, object, optional, required, string, withDefault } from '../src/config/decode';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { redirect } from './lib/redirect';
import { requestHost, requestScheme, requestUri } from './lib/respond';

const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

const options = object({
  scheme: required(check(string, (s) => /^[a-z][a-z0-9+.-]*$/i.test(s), 'must be a URL scheme such as https')),
  port: optional(check(string, (p) => /^\d{1,5}$/.test(p) && Number(p) > 0 && Number(p) < 65536, 'must be a port number')),
  permanent: withDefault(boolean, false),
});

/** Redirects to another scheme (and port); a request already there passes through. */
export default defineMiddleware({
  type: 'redirectScheme',
  plain: true,
  options,
  create(opts) {
    const scheme = opts.scheme.toLowerCase();
    const port = opts.port !== undefined && opts.port !== DEFAULT_PORT[scheme] ? `:${opts.port}` : '';
    return (next) => async (ex) => {
      const host = requestHost(ex);
      const current = `${requestScheme(ex)}://${host}${requestUri(ex)}`;
      const target = `${scheme}://${hostname(host)}${port}${requestUri(ex)}`;
      if (target === current) return next(ex);
      return redirect(ex, target, opts.permanent);
    };
  },
});

/** Host without its port, brackets of an IPv6 literal kept. */
function hostname(host: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(:\d*)?$/.exec(host);
  return m ? m[1] : host;
}
