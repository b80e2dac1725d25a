import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { boolean, object, optional } from '../src/config/decode';
import { defineMiddleware } from './types';
import { sniffContentType } from './lib/sniff';

/** v2's `autoDetect` is accepted; `false` (v2's way of switching sniffing off) makes the middleware a no-op. */
const options = object({ autoDetect: optional(boolean) });

type Fn = (...args: unknown[]) => unknown;

/**
 * Portier, like Traefik v3, never invents a Content-Type. With this
 * middleware, a response the upstream sent without one gets the type sniffed
 * from its first bytes. Put it after `compress` in a chain, so it sees the
 * body before compression.
 */
export default defineMiddleware({
  type: 'contentType',
  options,
  create(opts) {
    if (opts.autoDetect === false) return (next) => next;
    return (next) => async (ex) => {
      if (ex.req.method !== 'HEAD') sniffOnWrite(ex.res);
      await next(ex);
    };
  },
});

function sniffOnWrite(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as Fn;
  const write = res.write.bind(res) as Fn;
  const end = res.end.bind(res) as Fn;
  let state: 'head' | 'waiting' | 'pass' = 'head';
  const flush = (chunk: unknown, enc: unknown): void => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof enc === 'string' ? (enc as BufferEncoding) : 'utf8');
      if (buf.length > 0) res.setHeader('content-type', sniffContentType(buf));
    }
    state = 'pass';
    writeHead(res.statusCode);
  };
  res.writeHead = function (status: number, ...rest: unknown[]) {
    if (state !== 'head') return writeHead(status, ...rest);
    res.statusCode = status;
    if (typeof rest[0] === 'string') res.statusMessage = rest.shift() as string;
    const h = rest[0];
    if (Array.isArray(h)) for (let i = 0; i + 1 < h.length; i += 2) res.setHeader(String(h[i]), h[i + 1] as string);
    else if (h && typeof h === 'object') for (const [k, v] of Object.entries(h as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
    if (res.getHeader('content-type') !== undefined || status === 204 || status === 304 || status < 200) {
      state = 'pass';
      return writeHead(status);
    }
    state = 'waiting';
    return res;
  } as ServerResponse['writeHead'];
  res.write = function (chunk: unknown, ...rest: unknown[]) {
    if (state === 'head') res.writeHead(res.statusCode);
    if (state === 'waiting') flush(chunk, rest[0]);
    return write(chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (chunk?: unknown, ...rest: unknown[]) {
    if (state === 'head') res.writeHead(res.statusCode);
    if (state === 'waiting') flush(chunk, rest[0]);
    return end(chunk, ...rest);
  } as ServerResponse['end'];
}
