import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { Transform, TransformCallback } from 'node:stream';
import { list, object, optional, string } from '../src/config/decode';
import { defineMiddleware } from './types';
import { check } from './lib/decoders';
import { withBody } from './lib/replaced-body';

const options = object({
  allowOrigins: optional(list(check(string, (s) => s === '*' || /^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(s), 'must be an origin (scheme://host[:port]) or *'))),
});

/** application/grpc-web, application/grpc-web+proto, application/grpc-web-text(+proto): text means base64 bodies. */
const WEB_TYPE = /^application\/grpc-web(-text)?(\+[a-z0-9._-]+)?\s*(?:;|$)/i;
/** The response fields a browser script may read; gRPC-Web clients read these. */
const EXPOSED = 'grpc-status, grpc-message, grpc-status-details-bin, grpc-encoding, content-type';

type Fn = (...args: unknown[]) => unknown;

/**
 * Traefik's `grpcWeb`: a browser's gRPC-Web call (HTTP/1.1 or HTTP/2,
 * binary or base64 text) goes to the backend as gRPC, and the answer comes
 * back as gRPC-Web: the gRPC trailers (`grpc-status`, `grpc-message`)
 * written at the end of the body as a trailer frame, since browsers cannot
 * read HTTP trailers. CORS: a preflight that asks for `x-grpc-web` is
 * answered for the `allowOrigins` (`*` allows every origin); a call from
 * another origin is refused 403. Other requests pass through unchanged.
 */
export default defineMiddleware({
  type: 'grpcWeb',
  options,
  create(opts) {
    const origins = opts.allowOrigins ?? [];
    const allowed = (origin: string): boolean => origins.includes('*') || origins.includes(origin);
    return (next) => async (ex) => {
      const { req, res } = ex;
      const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
      if (req.method === 'OPTIONS' && origin && isGrpcWebPreflight(req.headers)) return preflight(res, origin, allowed(origin), req.headers);
      const type = req.method === 'POST' ? WEB_TYPE.exec(String(req.headers['content-type'] ?? '')) : null;
      if (!type) return next(ex);
      if (origin && !allowed(origin)) {
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('origin not allowed\n');
        return;
      }
      const text = type[1] !== undefined;
      const suffix = type[2] ?? '';
      // The original fields are the exchange's: the entrypoint's error answers see a gRPC call too.
      req.headers['content-type'] = `application/grpc${suffix}`;
      delete req.headers['x-grpc-web'];
      if (origin) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-allow-credentials', 'true');
        res.setHeader('access-control-expose-headers', EXPOSED);
        res.appendHeader('vary', 'Origin');
      }
      asGrpcWebResponse(res, `application/grpc-web${text ? '-text' : ''}${suffix}`, text);
      if (!text) return next(ex);
      delete req.headers['content-length'];
      req.headers['transfer-encoding'] = 'chunked';
      return next({ ...ex, req: decodedRequest(req) });
    };
  },
});

function isGrpcWebPreflight(headers: IncomingHttpHeaders): boolean {
  if (!headers['access-control-request-method']) return false;
  return String(headers['access-control-request-headers'] ?? '')
    .toLowerCase()
    .split(',')
    .some((h) => h.trim() === 'x-grpc-web');
}

function preflight(res: ServerResponse, origin: string, ok: boolean, headers: IncomingHttpHeaders): void {
  if (!ok) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', vary: 'Origin' });
    res.end('origin not allowed\n');
    return;
  }
  res.writeHead(204, {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': String(headers['access-control-request-headers']),
    'access-control-max-age': '600',
    vary: 'Origin',
  });
  res.end();
}

/** The client's base64 body as bytes, decoded as it arrives (4 characters at a time; padded segments may follow each other). */
class Base64Decoder extends Transform {
  private rest = '';

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const s = this.rest + chunk.toString('latin1').replace(/\s+/g, '');
    const whole = s.length - (s.length % 4);
    this.rest = s.slice(whole);
    cb(null, decode(s.slice(0, whole)));
  }

  override _flush(cb: TransformCallback): void {
    cb(this.rest ? new Error('gRPC-Web text body: truncated base64') : null);
  }
}

/** Each segment that ends in padding decodes on its own: a decoder stops at the first `=`. */
const decode = (s: string): Buffer => Buffer.concat(s.split(/(?<==)(?=[^=])/).map((seg) => Buffer.from(seg, 'base64')));

/** A request object for the upstream: the client's line and fields (shared), the decoded body. */
function decodedRequest(orig: IncomingMessage): IncomingMessage {
  const body = orig.pipe(new Base64Decoder());
  // A failed client body fails the upstream request as a cut body would.
  orig.once('error', (err) => body.destroy(err));
  return withBody(orig, body);
}

/**
 * The response as gRPC-Web: the content type the client sent, no length
 * (the body grows by the trailer frame), HTTP trailers kept and written
 * as the body's last frame (flag 0x80, `name: value\r\n` lines), text
 * bodies base64-encoded one write at a time. A trailers-only answer (no
 * body, grpc-status among the fields) stays one: gRPC-Web clients read it.
 */
function asGrpcWebResponse(res: ServerResponse, contentType: string, text: boolean): void {
  const setHeader = res.setHeader.bind(res) as Fn;
  const write = res.write.bind(res) as Fn;
  const end = res.end.bind(res) as Fn;
  const trailers: Record<string, string> = {};
  let wrote = false;
  res.setHeader = function (name: string, value: OutgoingHttpHeader) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') return res;
    if (lower === 'content-type' && /^application\/grpc/i.test(String(value))) value = contentType;
    return setHeader(name, value);
  } as ServerResponse['setHeader'];
  res.addTrailers = (t: OutgoingHttpHeader | Record<string, OutgoingHttpHeader | undefined> | readonly [string, string][]) => {
    for (const [k, v] of Object.entries(t as Record<string, OutgoingHttpHeader | undefined>)) if (v !== undefined) trailers[k.toLowerCase()] = String(v);
  };
  const out = (chunk: Buffer): unknown => write(text ? Buffer.from(chunk.toString('base64'), 'latin1') : chunk);
  res.write = function (chunk: unknown, ...rest: unknown[]) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8');
    if (buf.length === 0) return write(buf);
    wrote = true;
    return out(buf) as boolean;
  } as ServerResponse['write'];
  res.end = function (chunk?: unknown, ...rest: unknown[]) {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') res.write(chunk as Buffer, ...(rest as []));
    const names = Object.keys(trailers);
    if (names.length || wrote) {
      const lines = Buffer.from(names.map((n) => `${n}: ${trailers[n]}\r\n`).join(''), 'latin1');
      const frame = Buffer.alloc(5);
      frame[0] = 0x80;
      frame.writeUInt32BE(lines.length, 1);
      out(Buffer.concat([frame, lines]));
    }
    return end(typeof chunk === 'function' ? chunk : undefined);
  } as ServerResponse['end'];
}
