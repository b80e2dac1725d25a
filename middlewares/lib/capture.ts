import { ServerResponse } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Spool } from './spool';

export interface Captured {
  res: ServerResponse;
  /** Resolves when the handler ended the response; rejects if the body could not be held. */
  ended: Promise<void>;
  status(): number;
  headers(): OutgoingHttpHeaders;
  body: Spool;
  /** More than `maxBytes` were written (the excess is dropped). */
  tooBig(): boolean;
}

/**
 * A response object that records instead of sending: the handler writes to
 * it as to a client, and the caller decides afterwards what the client
 * gets (retry, replace, or replay it).
 */
export function captureResponse(req: IncomingMessage, memBytes: number, maxBytes: number): Captured {
  const res = new ServerResponse(req);
  const body = new Spool(memBytes);
  let over = false;
  let done: () => void = () => undefined;
  let fail: (err: unknown) => void = () => undefined;
  const ended = new Promise<void>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  // Read only after the handler returns, which it may instead fail: that must not count as unhandled.
  ended.catch(() => undefined);
  const toBuffer = (chunk: unknown, enc?: unknown): Buffer =>
    Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), typeof enc === 'string' ? (enc as BufferEncoding) : 'utf8');

  res.writeHead = function (status: number, ...rest: unknown[]) {
    res.statusCode = status;
    if (typeof rest[0] === 'string') res.statusMessage = rest.shift() as string;
    const h = rest[0];
    if (Array.isArray(h)) for (let i = 0; i + 1 < h.length; i += 2) res.setHeader(String(h[i]), h[i + 1] as string);
    else if (h && typeof h === 'object') for (const [k, v] of Object.entries(h as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
    return res;
  } as ServerResponse['writeHead'];
  let draining = false;
  /** False, as a socket's write, while the spool's file has a backlog; 'drain' follows as from a socket. */
  const append = (chunk: unknown, enc?: unknown): boolean => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return true;
    const buf = toBuffer(chunk, enc);
    if (maxBytes > 0 && body.bytes + buf.length > maxBytes) over = true;
    if (over || body.write(buf)) return true;
    if (!draining) {
      draining = true;
      body.drained().then(
        () => {
          draining = false;
          res.emit('drain');
        },
        (err: unknown) => {
          fail(err);
          // As a client that left: the handler stops sending.
          res.emit('close');
        },
      );
    }
    return false;
  };
  res.write = function (chunk: unknown, enc?: unknown, cb?: unknown) {
    const ok = append(chunk, enc);
    const callback = [enc, cb].find((a) => typeof a === 'function') as (() => void) | undefined;
    if (callback) process.nextTick(callback);
    return ok;
  } as ServerResponse['write'];
  res.end = function (chunk?: unknown, enc?: unknown, cb?: unknown) {
    append(chunk, enc);
    const callback = [chunk, enc, cb].find((a) => typeof a === 'function') as (() => void) | undefined;
    done();
    // Handlers (the forwarder) learn that the response is complete from 'finish', as from a real one.
    process.nextTick(() => {
      res.emit('finish');
      callback?.();
    });
    return res;
  } as ServerResponse['end'];

  return {
    res,
    ended,
    status: () => res.statusCode,
    headers: () => res.getHeaders(),
    body,
    tooBig: () => over,
  };
}
