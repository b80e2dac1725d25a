import { createBrotliCompress, createGzip, constants } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { int, list, object, optional, string, withDefault } from '../src/config/decode';
import type { Decoder } from '../src/config/decode';
import { configError } from '../src/errors';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { mediaType, mediaTypeIn, negotiateEncoding } from './lib/encoding';

/** zstd is accepted for Traefik compatibility but Node 20's zlib lacks it, so it is never chosen. */
const AVAILABLE = ['br', 'gzip'];
const encodingName = check(string, (s) => ['gzip', 'br', 'zstd'].includes(s.toLowerCase()), 'expected gzip, br or zstd');
/** Never compressed: gRPC frames its own messages, event streams must not wait for a compressor's buffer. */
const NEVER = ['application/grpc', 'application/grpc+proto', 'text/event-stream'];

const fields = object({
  excludedContentTypes: withDefault(list(string), [] as string[]),
  includedContentTypes: withDefault(list(string), [] as string[]),
  minResponseBodyBytes: withDefault(check(int, (n) => n >= 0, 'must not be negative'), 1024),
  encodings: withDefault(list(encodingName), ['zstd', 'br', 'gzip']),
  defaultEncoding: optional(encodingName),
});

const options: Decoder<ReturnType<typeof fields>> = (raw, path) => {
  const v = fields(raw, path);
  if (v.excludedContentTypes.length > 0 && v.includedContentTypes.length > 0) {
    throw configError(`${path}.includedContentTypes`, 'cannot be combined with excludedContentTypes');
  }
  return v;
};

/**
 * gzip or brotli by Accept-Encoding, streaming: the body goes through the
 * compressor chunk by chunk. A body known (Content-Length) or seen (first
 * chunks, up to end) to be smaller than minResponseBodyBytes goes out as is.
 */
export default defineMiddleware({
  type: 'compress',
  options,
  create(opts) {
    const encodings = opts.encodings.map((e) => e.toLowerCase()).filter((e) => AVAILABLE.includes(e));
    const fallback = opts.defaultEncoding?.toLowerCase();
    const usable = fallback !== undefined && AVAILABLE.includes(fallback) ? fallback : undefined;
    const wanted = (type: string): boolean => {
      if (mediaTypeIn(type, NEVER)) return false;
      if (opts.includedContentTypes.length > 0) return mediaTypeIn(type, opts.includedContentTypes);
      return !mediaTypeIn(type, opts.excludedContentTypes);
    };
    return (next) => async (ex) => {
      const accept = ex.req.headers['accept-encoding'];
      const encoding = ex.req.method === 'HEAD' ? undefined : negotiateEncoding(accept, encodings, usable);
      if (encoding !== undefined) intercept(ex.res, encoding, opts.minResponseBodyBytes, wanted);
      await next(ex);
    };
  },
});

type State = 'head' | 'pending' | 'plain' | 'compress';
type Callback = (err?: Error | null) => void;

function intercept(res: ServerResponse, encoding: string, min: number, wanted: (type: string) => boolean): void {
  const writeHead = res.writeHead.bind(res) as (status: number) => ServerResponse;
  const write = res.write.bind(res) as (chunk: Buffer, cb?: Callback) => boolean;
  const end = res.end.bind(res) as (chunk?: Buffer | Callback, cb?: Callback) => ServerResponse;
  let state: State = 'head';
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let compressor: Transform | undefined;

  const decide = (): void => {
    const status = res.statusCode;
    const length = res.getHeader('content-length');
    if (
      status < 200 || status === 204 || status === 206 || status === 304 ||
      res.getHeader('content-encoding') !== undefined ||
      !wanted(mediaType(res.getHeader('content-type')))
    ) {
      state = 'plain';
    } else if (length !== undefined) {
      state = Number(length) >= min ? 'compress' : 'plain';
    } else {
      state = 'pending';
      return;
    }
    if (state === 'plain') writeHead(status);
    else start();
  };

  const start = (): void => {
    state = 'compress';
    res.removeHeader('content-length');
    res.setHeader('content-encoding', encoding);
    const vary = res.getHeader('vary');
    if (vary === undefined) res.setHeader('vary', 'Accept-Encoding');
    else if (!/accept-encoding/i.test(String(vary))) res.setHeader('vary', `${String(vary)}, Accept-Encoding`);
    writeHead(res.statusCode);
    const c = encoding === 'br' ? createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }) : createGzip();
    c.on('data', (d: Buffer) => {
      if (!write(d)) {
        c.pause();
        res.once('drain', () => c.resume());
      }
    });
    c.on('end', () => end());
    c.on('error', (err) => res.destroy(err));
    compressor = c;
    if (pendingBytes > 0) c.write(Buffer.concat(pending));
    pending = [];
  };

  const toBuffer = (chunk: unknown, enc?: unknown): Buffer =>
    Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof enc === 'string' ? (enc as BufferEncoding) : 'utf8');

  res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
    if (state !== 'head') return (writeHead as (...a: unknown[]) => ServerResponse)(status, ...rest);
    res.statusCode = status;
    if (typeof rest[0] === 'string') res.statusMessage = rest.shift() as string;
    applyHeaders(res, rest[0]);
    decide();
    return res;
  } as ServerResponse['writeHead'];

  res.write = function (chunk: unknown, enc?: unknown, cb?: unknown): boolean {
    const callback = (typeof enc === 'function' ? enc : cb) as Callback | undefined;
    if (state === 'head') res.writeHead(res.statusCode);
    if (state === 'plain') return write(toBuffer(chunk, enc), callback);
    const buf = toBuffer(chunk, enc);
    if (state === 'pending') {
      pending.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes >= min) start();
      if (callback) process.nextTick(callback);
      return true;
    }
    const ok = compressor!.write(buf, callback);
    if (!ok) compressor!.once('drain', () => res.emit('drain'));
    return ok;
  } as ServerResponse['write'];

  res.end = function (chunk?: unknown, enc?: unknown, cb?: unknown): ServerResponse {
    const callback = [chunk, enc, cb].find((a) => typeof a === 'function') as Callback | undefined;
    const data = chunk === undefined || chunk === null || typeof chunk === 'function' ? undefined : toBuffer(chunk, enc);
    if (state === 'head') {
      // The whole body is at hand: its size is known.
      if (data !== undefined && res.getHeader('content-length') === undefined && res.getHeader('transfer-encoding') === undefined) {
        res.setHeader('content-length', data.length);
      }
      res.writeHead(res.statusCode);
    }
    if (state === 'plain') return end(data ?? callback, data === undefined ? undefined : callback);
    if (state === 'pending') {
      if (data) {
        pending.push(data);
        pendingBytes += data.length;
      }
      if (pendingBytes < min) {
        res.removeHeader('transfer-encoding');
        res.setHeader('content-length', pendingBytes);
        state = 'plain';
        writeHead(res.statusCode);
        return end(Buffer.concat(pending), callback);
      }
      start();
    }
    if (callback) res.once('finish', () => callback());
    compressor!.end(data);
    return res;
  } as ServerResponse['end'];
}

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) for (const [k, v] of headers as [string, string][]) res.setHeader(k, v);
    else for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), headers[i + 1] as string);
  } else if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
  }
}
