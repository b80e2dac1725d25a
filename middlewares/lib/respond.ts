import type { OutgoingHttpHeaders } from 'node:http';
import type { Exchange } from '../../src/proxy/exchange';

/**
 * Answers an exchange from the middleware itself (redirect, 401, 429 …).
 * Resolves once the response is handed to the socket; a client that has gone
 * away is not an error of the middleware.
 */
export function respond(ex: Exchange, status: number, headers: OutgoingHttpHeaders = {}, body: string | Buffer = ''): Promise<void> {
  const res = ex.res;
  if (res.headersSent || res.writableEnded) return Promise.resolve();
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const all: OutgoingHttpHeaders = { ...headers };
  if (payload.length > 0 && all['content-type'] === undefined) all['content-type'] = 'text/plain; charset=utf-8';
  all['content-length'] = payload.length;
  res.writeHead(status, all);
  res.end(ex.req.method === 'HEAD' ? undefined : payload);
  return Promise.resolve();
}

/** The request URI sent upstream: path plus `?query` when there is one. */
export function requestUri(ex: Exchange): string {
  const q = ex.query.startsWith('?') ? ex.query.slice(1) : ex.query;
  return q === '' ? ex.path : `${ex.path}?${q}`;
}

/**
 * Scheme of the request as the client used it. The entrypoint has already
 * replaced X-Forwarded-Proto unless the peer is a trusted proxy, so the
 * header is the scheme a TLS-terminating front proxy saw, or our own.
 */
export function requestScheme(ex: Exchange): 'http' | 'https' {
  const proto = ex.req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0].trim().toLowerCase();
  if (first === 'https' || first === 'http') return first;
  return ex.tls ? 'https' : 'http';
}

/** The Host header as sent by the client (port kept). */
export function requestHost(ex: Exchange): string {
  const h = ex.req.headers.host;
  return typeof h === 'string' && h !== '' ? h : ex.match.host;
}
