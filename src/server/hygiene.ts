import type { IncomingMessage } from 'node:http';
import { forbiddenEscape, type EncodedCharacters } from './normalize';
import type { ErrorCode } from '../errors';

export interface HygieneLimits {
  maxHeaderCount: number;
  /** The whole head's bytes: request line, field lines and the blank line, as sent without extra whitespace. */
  maxHeaderBytes: number;
  dropUnderscoreHeaders: boolean;
  encodedCharacters?: Partial<EncodedCharacters>;
}

/** RFC 3986 host (reg-name, IPv4 or [IPv6]) and an optional port: no userinfo, path or spaces. */
const HOST_SYNTAX = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(:[0-9]{0,5})?$/;

export interface Rejection {
  /** Its status and answer are the catalogue's (src/errors.ts). */
  code: ErrorCode;
  reason: string;
}

/**
 * Checks a request before routing, for the cases Node's parser lets through
 * (measured on Node 20): HTTP versions other than 1.0 and 1.1 (HTTP/0.9
 * and 2.0 request lines parse; `h2` marks a request of the HTTP/2 front
 * end, h2-front.ts, whose Host is `:authority` when it sent none), a
 * Transfer-Encoding other than plain `chunked` or one on HTTP/1.0, a second Host header (Node keeps the first silently),
 * a Host that is not a host[:port], `*` targets on methods other than
 * OPTIONS, an absolute-form target whose authority disagrees with Host,
 * encoded characters a backend could decode into another path, more header
 * lines than allowed (Node drops the excess silently). Header names with an
 * underscore are dropped, because some backends fold `_` into `-` and would
 * let a client spoof a header the proxy set.
 *
 * Trailers are not checked: they arrive after routing and are never
 * forwarded (only the body is piped upstream).
 */
export function inspectRequest(req: IncomingMessage, limits: HygieneLimits, h2 = false): Rejection | null {
  // Node's HTTP/1 parser reads an `HTTP/2.0` request line too: version 2 is only believed from the HTTP/2 front end.
  if (h2 ? req.httpVersionMajor !== 2 : req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) return { code: 'HTTP_VERSION', reason: `HTTP/${req.httpVersion} is not supported` };
  if (h2) {
    const authority = (req as IncomingMessage & { authority?: string }).authority;
    // RFC 9113 8.3.1: a Host naming another server than :authority makes the request malformed.
    if (authority !== undefined && req.headers.host !== undefined && authority.toLowerCase() !== req.headers.host.toLowerCase()) {
      return { code: 'BAD_REQUEST', reason: ':authority differs from Host' };
    }
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (!h2 && req.httpVersionMinor === 0) return { code: 'BAD_REQUEST', reason: 'Transfer-Encoding on HTTP/1.0' };
    // Node joins repeated lines with ", "; only a single plain chunked coding is framed the same by every hop.
    const codings = te.toLowerCase().split(',').map((c) => c.trim());
    if (codings.length !== 1 || codings[0] !== 'chunked') {
      return codings.filter((c) => c === 'chunked').length > 1
        ? { code: 'BAD_REQUEST', reason: 'chunked applied more than once' }
        : { code: 'CODING_UNSUPPORTED', reason: `unsupported Transfer-Encoding ${JSON.stringify(te)}` };
    }
  }
  const raw = req.rawHeaders;
  if (raw.length / 2 > limits.maxHeaderCount) return { code: 'HEAD_TOO_LARGE', reason: `more than ${limits.maxHeaderCount} header lines` };
  if (headBytes(req) > limits.maxHeaderBytes) return { code: 'HEAD_TOO_LARGE', reason: `request head over ${limits.maxHeaderBytes} bytes` };
  let hosts = 0;
  const underscored: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    if (name.includes('_')) underscored.push(name.toLowerCase());
  }
  if (hosts > 1) return { code: 'BAD_REQUEST', reason: 'more than one Host header' };
  if (hosts === 0 && (h2 || req.httpVersionMinor === 1)) return { code: 'BAD_REQUEST', reason: 'missing Host header' };
  if (req.headers.host !== undefined && !HOST_SYNTAX.test(req.headers.host)) return { code: 'BAD_REQUEST', reason: 'invalid Host header' };
  const url = req.url ?? '';
  if (url === '*') {
    if (req.method !== 'OPTIONS') return { code: 'BAD_REQUEST', reason: '"*" target is only valid for OPTIONS' };
  } else if (!url.startsWith('/')) {
    const abs = absoluteAuthority(url);
    if (abs === null) return { code: 'BAD_REQUEST', reason: 'invalid request target' };
    if (req.headers.host !== undefined && abs.toLowerCase() !== req.headers.host.toLowerCase()) {
      return { code: 'BAD_REQUEST', reason: 'absolute-form target authority differs from Host' };
    }
  }
  if (url !== '*') {
    const target = originForm(url);
    const query = target.indexOf('?');
    const escape = forbiddenEscape(query < 0 ? target : target.slice(0, query), limits.encodedCharacters);
    if (escape !== null) return { code: 'BAD_REQUEST', reason: `${JSON.stringify(escape)} is not allowed in the request path` };
  }
  if (limits.dropUnderscoreHeaders) for (const name of underscored) delete req.headers[name];
  return null;
}

/**
 * inspectRequest for a head the direct path's reader accepted
 * (request-head.ts), which has already ensured HTTP/1.1, no
 * Transfer-Encoding, an origin-form target, one Host and at most
 * `maxHeaderCount` lines: what is left is the Host syntax, the encoded
 * characters and the underscored names.
 */
export function inspectPlainRequest(req: IncomingMessage, limits: HygieneLimits): Rejection | null {
  if (!HOST_SYNTAX.test(req.headers.host!)) return { code: 'BAD_REQUEST', reason: 'invalid Host header' };
  const url = req.url!;
  const query = url.indexOf('?');
  const escape = forbiddenEscape(query < 0 ? url : url.slice(0, query), limits.encodedCharacters);
  if (escape !== null) return { code: 'BAD_REQUEST', reason: `${JSON.stringify(escape)} is not allowed in the request path` };
  if (limits.dropUnderscoreHeaders) for (const name in req.headers) if (name.includes('_')) delete req.headers[name];
  return null;
}

/**
 * The size of a head as the direct path's reader counts it (request-head.ts):
 * Node's parser counts only the target, names and values, so its own limit
 * lets heads through that are hundreds of bytes over.
 */
function headBytes(req: IncomingMessage): number {
  // "METHOD SP target SP HTTP/1.x CRLF", then "name: value CRLF" per field, then CRLF.
  let n = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12 + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) n += raw[i].length + raw[i + 1].length + 4;
  return n;
}

/** `http://host:port/path` → `host:port`, or null when not an http(s) absolute URL. */
function absoluteAuthority(url: string): string | null {
  const m = /^https?:\/\/([^/?#]+)(?:[/?#]|$)/i.exec(url);
  return m ? m[1] : null;
}

/** The path-and-query of an origin-form or absolute-form target. */
export function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  const m = /^https?:\/\/[^/?#]+(.*)$/i.exec(url);
  const rest = m ? m[1] : '/';
  return rest.startsWith('/') ? rest : `/${rest}`;
}
