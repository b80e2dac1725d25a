import type { ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';

/**
 * What the entrypoint reads of a response when it ends, the same on every
 * front end: DirectResponse keeps these itself; Node's ServerResponse gets
 * them from countBody.
 */
export interface Accounted {
  readonly statusCode: number;
  /** Body bytes sent: no head, no chunked framing; 0 for HEAD, 1xx, 204 and 304. */
  readonly bodyBytes: number;
  readonly writableFinished: boolean;
}

/**
 * A response that goes out as HTTP/2 frames: no connection-specific fields (Node throws on them) and no reason
 * phrase. Node's compatibility response, or a plain stream's (H2Response, marked `http2`).
 */
export const isH2Response = (res: object): boolean => res instanceof Http2ServerResponse || (res as { http2?: unknown }).http2 === true;

export const noBodyStatus = (status: number): boolean => status < 200 || status === 204 || status === 304;

const length = (chunk: unknown, encoding: unknown): number =>
  typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : (chunk as Uint8Array | undefined)?.byteLength ?? 0;

/**
 * Counts the body bytes written to one of Node's responses, at write() and
 * end(), before Node frames them: the same figure a DirectResponse keeps,
 * so metrics, the access log and the API agree whichever front end served
 * the request. Middlewares that wrap write() (compress) wrap this one, so
 * what is counted is what the client gets.
 */
export function countBody(res: ServerResponse, headRequest: boolean): ServerResponse & Accounted {
  let bytes = 0;
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
    bytes += length(chunk, encoding);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, encoding, cb);
  } as ServerResponse['write'];
  res.end = isH2Response(res)
    ? // Node's HTTP/2 end(chunk) writes the chunk through this.write, where middlewares' wrappers (compress,
      // contentType) would take it for a second body write: the chunk goes through the engine's own write.
      (function (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
        if (typeof chunk === 'function') return (end as (...a: unknown[]) => ServerResponse).call(this, chunk);
        if (typeof encoding === 'function') [encoding, cb] = [undefined, encoding];
        if (chunk !== undefined && chunk !== null && !this.writableEnded) {
          bytes += length(chunk, encoding);
          (write as (...a: unknown[]) => boolean).call(this, chunk, encoding);
        }
        return (end as (...a: unknown[]) => ServerResponse).call(this, cb);
      } as ServerResponse['end'])
    : (function (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
        if (typeof chunk !== 'function') bytes += length(chunk, encoding);
        return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, encoding, cb);
      } as ServerResponse['end']);
  return Object.defineProperty(res, 'bodyBytes', { get: () => (headRequest || noBodyStatus(res.statusCode) ? 0 : bytes) }) as ServerResponse & Accounted;
}
