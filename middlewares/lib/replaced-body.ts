import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * A request object for the upstream that keeps the original's line, fields
 * and socket but carries another body stream (a held body, a decoded one):
 * what the forwarder reads of a request, and nothing more.
 */
export function withBody(orig: IncomingMessage, body: Readable, headers: IncomingHttpHeaders = orig.headers, extra: object = {}): IncomingMessage {
  return Object.assign(body, {
    method: orig.method,
    url: orig.url,
    headers,
    rawHeaders: orig.rawHeaders,
    httpVersion: orig.httpVersion,
    httpVersionMajor: orig.httpVersionMajor,
    httpVersionMinor: orig.httpVersionMinor,
    socket: orig.socket,
    connection: orig.socket,
    trailers: {},
    rawTrailers: [],
    ...extra,
  }) as unknown as IncomingMessage;
}
