import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { int, object, optional, string, withDefault } from '../src/config/decode';
import type { Decoder } from '../src/config/decode';
import { PortierError } from '../src/errors';
import type { Exchange } from '../src/proxy/exchange';
import { defineMiddleware } from './types';
import { captureResponse } from './lib/capture';
import { check } from './lib/decoders';
import { compileExpression } from './lib/expression';
import { withBody } from './lib/replaced-body';
import type { FunctionSpec } from './lib/expression';
import { respond } from './lib/respond';
import { Spool } from './lib/spool';

interface AttemptOutcome {
  attempts: number;
  status: number;
  networkError: boolean;
}

export const retryFunctions: Record<string, FunctionSpec<AttemptOutcome>> = {
  Attempts: { args: 0, returns: 'number', call: (o) => o.attempts },
  ResponseCode: { args: 0, returns: 'number', call: (o) => o.status },
  IsNetworkError: { args: 0, returns: 'boolean', call: (o) => o.networkError },
};

/** However the expression is written, a request is not tried more often than this. */
const MAX_ATTEMPTS = 10;
const MiB = 1024 * 1024;

const retryExpression: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  compileExpression(s, retryFunctions, path);
  return s;
};
const size = check(int, (n) => n >= 0, 'must not be negative');

const options = object({
  maxRequestBodyBytes: withDefault(size, 0),
  memRequestBodyBytes: withDefault(size, MiB),
  maxResponseBodyBytes: withDefault(size, 0),
  memResponseBodyBytes: withDefault(size, MiB),
  retryExpression: optional(retryExpression),
});

/**
 * Reads the whole request body before the request goes on (413 beyond
 * maxRequestBodyBytes; memory up to memRequestBodyBytes, a temporary file
 * beyond), so the upstream gets it at once with a Content-Length. With
 * maxResponseBodyBytes or retryExpression set, the response is held the
 * same way (500 when too large) and the request may be tried again, body
 * included, while `retryExpression` holds.
 */
export default defineMiddleware({
  type: 'buffering',
  options,
  create(opts) {
    const retry = opts.retryExpression === undefined ? undefined : compileExpression(opts.retryExpression, retryFunctions, 'retryExpression');
    const holdResponse = retry !== undefined || opts.maxResponseBodyBytes > 0;
    return (next) => async (ex) => {
      const declared = Number(ex.req.headers['content-length'] ?? 0);
      if (opts.maxRequestBodyBytes > 0 && declared > opts.maxRequestBodyBytes) return tooLarge(ex);
      const spool = new Spool(opts.memRequestBodyBytes);
      ex.res.once('close', () => spool.dispose());
      if (!(await readBody(ex.req, spool, opts.maxRequestBodyBytes))) return tooLarge(ex);
      await spool.seal();
      // The client left while its body was being written out: nobody is waiting for an answer.
      if (ex.res.destroyed) return;
      const hasBody = spool.bytes > 0 || ex.req.headers['content-length'] !== undefined || ex.req.headers['transfer-encoding'] !== undefined;

      for (let attempts = 1; ; attempts++) {
        const req = replayRequest(ex.req, spool.reader(), hasBody ? spool.bytes : undefined);
        if (!holdResponse) return next({ ...ex, req });
        const captured = captureResponse(req, opts.memResponseBodyBytes, opts.maxResponseBodyBytes);
        ex.res.once('close', () => captured.body.dispose());
        const attempt: Exchange = { ...ex, req, res: captured.res, responseHooks: [...ex.responseHooks], retryAttempts: attempts - 1 };
        let failure: unknown;
        try {
          await next(attempt);
          await captured.ended;
        } catch (err) {
          failure = err;
        }
        const networkError = failure instanceof PortierError && (failure.code === 'UPSTREAM_REFUSED' || failure.code === 'UPSTREAM_TIMEOUT');
        const status = failure === undefined ? captured.status() : failure instanceof PortierError ? failure.status ?? 500 : 500;
        if (retry && attempts < MAX_ATTEMPTS && retry({ attempts, status, networkError })) {
          ex.retryAttempts = attempts;
          captured.body.dispose();
          continue;
        }
        if (failure !== undefined) throw failure;
        if (captured.tooBig()) return respond(ex, 500, {}, 'Internal Server Error\n');
        await captured.body.seal();
        if (ex.res.destroyed) return;
        return replay(ex, captured.status(), captured.headers(), captured.body);
      }
    };
  },
});

function tooLarge(ex: Exchange): Promise<void> {
  // The rest of an oversized upload is not worth reading: the connection closes after the answer.
  return respond(ex, 413, { connection: 'close' }, 'Request Entity Too Large\n');
}

/**
 * Reads the request into the spool; false as soon as it exceeds `max` (0 =
 * no limit). While the spool's file has a backlog the request is paused,
 * so a fast client waits on TCP instead of filling memory.
 */
function readBody(req: IncomingMessage, spool: Spool, max: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const stop = (): void => {
      req.off('data', onData);
      req.pause();
    };
    const onData = (chunk: Buffer): void => {
      if (max > 0 && spool.bytes + chunk.length > max) {
        stop();
        return resolve(false);
      }
      if (spool.write(chunk)) return;
      req.pause();
      spool.drained().then(
        () => req.resume(),
        (err: unknown) => {
          stop();
          reject(err);
        },
      );
    };
    req.on('data', onData);
    req.once('end', () => resolve(true));
    req.once('error', reject);
    req.resume();
  });
}

/** A request object for the upstream: the original's line and headers, the held body, its length known. */
function replayRequest(orig: IncomingMessage, body: Readable, length: number | undefined): IncomingMessage {
  const headers = { ...orig.headers };
  if (length !== undefined) {
    delete headers['transfer-encoding'];
    headers['content-length'] = String(length);
  }
  return withBody(orig, body, headers, { complete: true, aborted: false });
}

async function replay(ex: Exchange, status: number, headers: ReturnType<ReturnType<typeof captureResponse>['headers']>, body: Spool): Promise<void> {
  const out = { ...headers };
  delete out['transfer-encoding'];
  if (status >= 200 && status !== 204 && status !== 304) out['content-length'] = body.bytes;
  ex.res.writeHead(status, out);
  await new Promise<void>((resolve) => {
    body.reader().on('error', () => ex.res.destroy()).pipe(ex.res).once('finish', resolve).once('close', resolve);
  });
}
