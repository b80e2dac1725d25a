import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { boolean, list, object, optional, required, string, withDefault } from '../src/config/decode';
import { configError } from '../src/errors';
import type { Exchange } from '../src/proxy/exchange';
import { TRANSPORT_DEFAULTS, loadCa, loadClientCertificate } from '../src/proxy/transport';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { goRegex, regexOption } from './lib/goregex';
import { holdRequestBody } from './lib/hold';
import { requestHost, requestScheme, requestUri, respond } from './lib/respond';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'content-length']);
const strings = withDefault(list(string), [] as string[]);

const options = object({
  address: required(check(string, (s) => /^https?:\/\/[^/]/i.test(s) && URL.canParse(s), 'must be an http:// or https:// URL')),
  tls: optional(object({
    ca: optional(string),
    cert: optional(string),
    key: optional(string),
    insecureSkipVerify: withDefault(boolean, false),
  })),
  trustForwardHeader: withDefault(boolean, false),
  authResponseHeaders: strings,
  authResponseHeadersRegex: optional(regexOption),
  authRequestHeaders: strings,
  addAuthCookiesToResponse: strings,
  preserveLocationHeader: withDefault(boolean, false),
  preserveRequestMethod: withDefault(boolean, false),
});

/** Time allowed to the auth server for an answer; beyond it the request fails with 500 rather than hanging. */
const AUTH_TIMEOUT_MS = 30_000;

/**
 * Asks an auth server about each request (a GET with the original headers
 * and X-Forwarded-Method/-Proto/-Host/-Uri/-For). A 2xx lets the request
 * through, with chosen auth response headers copied onto it; anything else
 * is returned to the client as is. The auth server is reached through a
 * transport of its own, made from `tls` as a serversTransport is from its
 * keys: `ca` as rootCAs, `cert` and `key` as a client certificate.
 */
export default defineMiddleware({
  type: 'forwardAuth',
  options,
  create(opts, ctx) {
    const address = new URL(opts.address);
    const { ca, cert, key, insecureSkipVerify = false } = opts.tls ?? {};
    if ((cert === undefined) !== (key === undefined)) throw configError(cert === undefined ? 'tls.cert' : 'tls.key', 'is required with a client certificate');
    const copyRegex = opts.authResponseHeadersRegex ? goRegex(opts.authResponseHeadersRegex, 'authResponseHeadersRegex', 'i') : undefined;
    const copyNames = opts.authResponseHeaders.map((h) => h.toLowerCase());
    const onlyHeaders = opts.authRequestHeaders.map((h) => h.toLowerCase());
    const cookieNames = new Set(opts.addAuthCookiesToResponse);
    const agent = ctx
      .transport({
        ...TRANSPORT_DEFAULTS,
        insecureSkipVerify,
        rootCAs: ca === undefined ? undefined : [loadCa(ca, 'tls.ca')],
        certificates: cert === undefined || key === undefined ? undefined : [loadClientCertificate(cert, 'tls.cert', key, 'tls.key')],
      })
      .agent(address.protocol === 'https:');

    return (next) => async (ex) => {
      holdRequestBody(ex);
      let auth: { status: number; headers: IncomingHttpHeaders; body: Buffer };
      try {
        auth = await ask(ex, address, agent, authHeaders(ex, opts.trustForwardHeader, onlyHeaders), opts.preserveRequestMethod);
      } catch {
        return respond(ex, 500, {}, 'Internal Server Error\n');
      }
      if (auth.status < 200 || auth.status > 299) {
        const headers: OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(auth.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
        const location = auth.headers.location;
        if (location !== undefined && !opts.preserveLocationHeader && !/^[a-z][a-z0-9+.-]*:/i.test(location)) {
          headers.location = new URL(location, address).href;
        }
        return respond(ex, auth.status, headers, auth.body);
      }
      const reqHeaders = ex.req.headers;
      for (const name of copyNames) {
        delete reqHeaders[name];
        if (auth.headers[name] !== undefined) reqHeaders[name] = auth.headers[name];
      }
      if (copyRegex) {
        for (const name of Object.keys(reqHeaders)) if (copyRegex.test(name)) delete reqHeaders[name];
        for (const [name, v] of Object.entries(auth.headers)) if (copyRegex.test(name) && v !== undefined) reqHeaders[name] = v;
      }
      const cookies = (auth.headers['set-cookie'] ?? []).filter((c) => cookieNames.has(c.split('=')[0].trim()));
      if (cookies.length > 0) {
        ex.responseHooks.push((_status, fields) => fields.appendHeader('set-cookie', cookies));
      }
      await next(ex);
    };
  },
});

function authHeaders(ex: Exchange, trust: boolean, only: string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(ex.req.headers)) {
    if (HOP_BY_HOP.has(k) || v === undefined || k === 'host') continue;
    if (k.startsWith('x-forwarded-') && !trust) continue;
    if (only.length > 0 && !only.includes(k)) continue;
    out[k] = v;
  }
  // The entrypoint already put the peer at the end of X-Forwarded-For (and dropped untrusted values).
  const xff = ex.req.headers['x-forwarded-for'];
  const set = (name: string, value: string): void => {
    if (!trust || out[name] === undefined) out[name] = value;
  };
  if (xff !== undefined) out['x-forwarded-for'] = xff;
  set('x-forwarded-method', ex.req.method ?? 'GET');
  set('x-forwarded-proto', requestScheme(ex));
  set('x-forwarded-host', requestHost(ex));
  set('x-forwarded-uri', requestUri(ex));
  return out;
}

function ask(
  ex: Exchange,
  address: URL,
  agent: http.Agent,
  headers: OutgoingHttpHeaders,
  preserveMethod: boolean,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const client = address.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(address, { method: preserveMethod ? ex.req.method : 'GET', headers, agent, timeout: AUTH_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('auth server timed out')));
    req.on('error', reject);
    ex.res.once('close', () => req.destroy());
    req.end();
  });
}
