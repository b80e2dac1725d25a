import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { boolean, deprecated, fail, int, list, object, record, string, withDefault, type Decoder } from '../src/config/decode';
import { configError } from '../src/errors';
import { TOKEN } from '../src/proxy/field-names';
import { dispatchMiddleware, type Exchange, type ResponseFields } from '../src/proxy/exchange';
import { defineMiddleware } from './types';
import { goRegex, regexOption } from './lib/goregex';
import { redirect } from './lib/redirect';
import { requestHost, requestUri, respond } from './lib/respond';

const strings = withDefault(list(string), [] as string[]);
const flag = withDefault(boolean, false);
const text = withDefault(string, '');
const INSTEAD = "a redirectScheme middleware or the entrypoint's http.redirections does this";

/**
 * Header name → value; each checked here, once, as Node's setHeader would
 * check it on every request: a value with CR, LF or NUL could split a head.
 */
const fieldMap: Decoder<Record<string, string>> = (raw, path, ctx) => {
  const map = record(string)(raw, path, ctx);
  for (const [name, value] of Object.entries(map)) {
    if (!TOKEN.test(name)) fail(configError(`${path}.${name}`, 'not a valid header name'), ctx);
    else if (/[\0\r\n]/.test(value)) fail(configError(`${path}.${name}`, 'a header value may not contain CR, LF or NUL'), ctx);
  }
  return map;
};

const options = object({
  customRequestHeaders: withDefault(fieldMap, {}),
  customResponseHeaders: withDefault(fieldMap, {}),
  accessControlAllowCredentials: flag,
  accessControlAllowHeaders: strings,
  accessControlAllowMethods: strings,
  accessControlAllowOriginList: strings,
  accessControlAllowOriginListRegex: withDefault(list(regexOption), [] as string[]),
  accessControlExposeHeaders: strings,
  accessControlMaxAge: withDefault(int, 0),
  addVaryHeader: flag,
  allowedHosts: strings,
  hostsProxyHeaders: strings,
  sslProxyHeaders: withDefault(record(string), {}),
  sslRedirect: deprecated(flag, INSTEAD),
  sslTemporaryRedirect: deprecated(flag, INSTEAD),
  sslHost: deprecated(text, INSTEAD),
  sslForceHost: deprecated(flag, INSTEAD),
  stsSeconds: withDefault(int, 0),
  stsIncludeSubdomains: flag,
  stsPreload: flag,
  forceSTSHeader: flag,
  frameDeny: flag,
  customFrameOptionsValue: text,
  contentTypeNosniff: flag,
  browserXssFilter: flag,
  customBrowserXSSValue: text,
  contentSecurityPolicy: text,
  contentSecurityPolicyReportOnly: text,
  publicKey: text,
  referrerPolicy: text,
  permissionsPolicy: text,
  isDevelopment: flag,
});
type Options = ReturnType<typeof options>;

/**
 * Custom request/response headers (an empty value removes the header), CORS
 * (preflight answered here, never forwarded) and security headers; and
 * Traefik v2's redirect to HTTPS (`sslRedirect`, `sslHost`, `sslForceHost`),
 * deprecated there but still found in many files, as its `secure` library
 * does it: the request's own host (port kept) or `sslHost`, same path and
 * query, permanent unless `sslTemporaryRedirect`.
 */
export default defineMiddleware({
  type: 'headers',
  plain: true,
  options,
  create(opts) {
    const security = Object.entries(securityHeaders(opts));
    const cors = corsPolicy(opts);
    const allowedHosts = new Set(opts.allowedHosts.map((h) => h.toLowerCase()));
    const hostHeaders = opts.hostsProxyHeaders.map((h) => h.toLowerCase());
    const sslHeaders = Object.entries(opts.sslProxyHeaders).map(([k, v]) => [k.toLowerCase(), v] as const);
    const insecureSslHost = new RegExp(`^http://${opts.sslHost.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/|$)`);
    const requestHeaders = Object.entries(opts.customRequestHeaders).map(([k, v]) => [k.toLowerCase(), v] as const);
    const responseHeaders = Object.entries(opts.customResponseHeaders).map(([k, v]) => [k.toLowerCase(), v] as const);

    const redirects = opts.sslRedirect || (opts.sslForceHost && opts.sslHost !== '');
    const permanent = !opts.sslTemporaryRedirect;
    // As Go's Header.Get: an empty proxy header counts as absent.
    const proxiedHost = (h: IncomingHttpHeaders): string | undefined => hostHeaders.map((n) => first(h[n])).find((v) => v !== undefined && v !== '');

    const fixed = (fields: ResponseFields, hsts: boolean): void => {
      for (const [k, v] of security) fields.setHeader(k, v);
      if (hsts) fields.setHeader('strict-transport-security', sts(opts));
      for (const [k, v] of responseHeaders) {
        if (v === '') fields.removeHeader(k);
        else fields.setHeader(k, v);
      }
    };
    // Without CORS, HSTS or sslHost the response's edits read nothing of the request: one hook serves every request.
    const sameForAll = !cors.enabled && opts.stsSeconds === 0 && opts.sslHost === '';
    const fixedHook = (_status: number, fields: ResponseFields): void => fixed(fields, false);

    /** A request passed on gets its fields edited and the response hook; an answer of its own is returned. */
    const edit = (ex: Exchange): Promise<void> | undefined => {
      const h = ex.req.headers;
      if (!opts.isDevelopment && allowedHosts.size > 0) {
        const host = proxiedHost(h) ?? ex.match.host;
        if (!allowedHosts.has(host.toLowerCase().replace(/:\d+$/, ''))) return respond(ex, 500, {}, 'Bad Host\n');
      }
      const origin = first(h.origin);
      if (cors.enabled && ex.req.method === 'OPTIONS' && origin !== undefined && h['access-control-request-method'] !== undefined) {
        return respond(ex, 200, cors.preflight(origin));
      }
      for (const [k, v] of requestHeaders) {
        if (v === '') delete h[k];
        else h[k] = v;
      }
      const isSsl = ex.tls || sslHeaders.some(([k, v]) => first(h[k]) === v);
      if (redirects) {
        const host = proxiedHost(h) ?? requestHost(ex);
        if (opts.sslRedirect && !isSsl && !opts.isDevelopment) return redirect(ex, `https://${opts.sslHost || host}${requestUri(ex)}`, permanent);
        if (opts.sslForceHost && opts.sslHost !== '' && opts.sslHost !== host) return redirect(ex, `https://${opts.sslHost}${requestUri(ex)}`, permanent);
      }
      if (sameForAll) ex.responseHooks.push(fixedHook);
      else {
        ex.responseHooks.push((_status, fields) => {
          const location = fields.getHeader('location');
          // A backend that knows only its plain-HTTP name is told its HTTPS one, as Traefik v2 does.
          if (isSsl && opts.sslHost !== '' && typeof location === 'string' && insecureSslHost.test(location)) fields.setHeader('location', `https${location.slice(4)}`);
          if (cors.enabled && origin !== undefined) cors.decorate(origin, fields);
          fixed(fields, opts.stsSeconds > 0 && !opts.isDevelopment && (isSsl || opts.forceSTSHeader));
        });
      }
      return undefined;
    };

    // Callback form: a request passed on costs no promise.
    return dispatchMiddleware((next) => (ex, done) => {
      let answer: Promise<void> | undefined;
      try {
        answer = edit(ex);
      } catch (err) {
        return done(err);
      }
      if (answer) answer.then(() => done(), done);
      else next(ex, done);
    }, { keepsFieldsValid: true });
  },
});

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function sts(opts: Options): string {
  return `max-age=${opts.stsSeconds}${opts.stsIncludeSubdomains ? '; includeSubDomains' : ''}${opts.stsPreload ? '; preload' : ''}`;
}

function securityHeaders(opts: Options): Record<string, string> {
  const out: Record<string, string> = {};
  if (opts.customFrameOptionsValue !== '') out['x-frame-options'] = opts.customFrameOptionsValue;
  else if (opts.frameDeny) out['x-frame-options'] = 'DENY';
  if (opts.contentTypeNosniff) out['x-content-type-options'] = 'nosniff';
  if (opts.customBrowserXSSValue !== '') out['x-xss-protection'] = opts.customBrowserXSSValue;
  else if (opts.browserXssFilter) out['x-xss-protection'] = '1; mode=block';
  if (opts.contentSecurityPolicy !== '') out['content-security-policy'] = opts.contentSecurityPolicy;
  if (opts.contentSecurityPolicyReportOnly !== '') out['content-security-policy-report-only'] = opts.contentSecurityPolicyReportOnly;
  if (opts.publicKey !== '') out['public-key-pins'] = opts.publicKey;
  if (opts.referrerPolicy !== '') out['referrer-policy'] = opts.referrerPolicy;
  if (opts.permissionsPolicy !== '') out['permissions-policy'] = opts.permissionsPolicy;
  return out;
}

interface Cors {
  enabled: boolean;
  preflight(origin: string): OutgoingHttpHeaders;
  decorate(origin: string, fields: ResponseFields): void;
}

function corsPolicy(opts: Options): Cors {
  const list = opts.accessControlAllowOriginList;
  const patterns = opts.accessControlAllowOriginListRegex.map((r, i) => goRegex(r, `accessControlAllowOriginListRegex[${i}]`));
  const wildcard = list.includes('*');
  const enabled =
    list.length > 0 ||
    patterns.length > 0 ||
    opts.accessControlAllowMethods.length > 0 ||
    opts.accessControlAllowHeaders.length > 0 ||
    opts.accessControlExposeHeaders.length > 0 ||
    opts.accessControlAllowCredentials;
  // A wildcard with credentials is refused by browsers, so the origin is echoed instead, as Traefik does.
  const allowOrigin = (origin: string): string | undefined => {
    if (wildcard) return opts.accessControlAllowCredentials ? origin : '*';
    if (list.includes(origin) || patterns.some((p) => p.test(origin))) return origin;
    return undefined;
  };
  return {
    enabled,
    preflight(origin) {
      const out: OutgoingHttpHeaders = {};
      const allowed = allowOrigin(origin);
      if (opts.accessControlAllowCredentials) out['access-control-allow-credentials'] = 'true';
      if (opts.accessControlAllowHeaders.length > 0) out['access-control-allow-headers'] = opts.accessControlAllowHeaders.join(',');
      if (opts.accessControlAllowMethods.length > 0) out['access-control-allow-methods'] = opts.accessControlAllowMethods.join(',');
      if (allowed !== undefined) out['access-control-allow-origin'] = allowed;
      out['access-control-max-age'] = String(opts.accessControlMaxAge);
      if (opts.addVaryHeader && allowed !== '*') out.vary = 'Origin';
      return out;
    },
    decorate(origin, fields) {
      const allowed = allowOrigin(origin);
      if (allowed === undefined) return;
      fields.setHeader('access-control-allow-origin', allowed);
      if (opts.accessControlAllowCredentials) fields.setHeader('access-control-allow-credentials', 'true');
      if (opts.accessControlExposeHeaders.length > 0) fields.setHeader('access-control-expose-headers', opts.accessControlExposeHeaders.join(','));
      if (opts.addVaryHeader && allowed !== '*') {
        const vary = fields.getHeader('vary');
        fields.setHeader('vary', vary ? `${vary}, Origin` : 'Origin');
      }
    },
  };
}
