import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';
import { object, required, string, withDefault } from '../src/config/decode';
import { configError, PortierError } from '../src/errors';
import { Exchange, Handler, newOrigin } from '../src/proxy/exchange';
import { defineMiddleware } from './types';
import { inRanges, statusRanges, statusRewrites } from './lib/statusRanges';

const options = object({
  status: required(statusRanges),
  statusRewrites: statusRewrites,
  service: required(string),
  query: withDefault(string, '/'),
});
type Options = ReturnType<typeof options>;

/**
 * Replaces responses whose status is in `status` (answered upstream, by an
 * inner middleware, or a gateway error such as 502/503/504) with a page
 * fetched from another service at `query` (`{status}`, `{originalStatus}`,
 * `{url}` filled in). The client gets the original (or rewritten) status
 * with the page's body and headers.
 */
export default defineMiddleware({
  type: 'errors',
  options,
  create(opts, ctx) {
    const page = ctx.service(opts.service);
    if (!page) throw configError('service', `service ${opts.service} does not exist or is disabled`, 'REF_UNKNOWN');
    return (next) => async (ex) => {
      const catcher = new StatusCatcher(ex, opts, page);
      try {
        await next(ex);
      } catch (err) {
        const status = err instanceof PortierError ? err.status : undefined;
        if (status === undefined || !inRanges(status, opts.status) || !catcher.takeOver(status)) throw err;
      }
      await catcher.served;
    };
  },
});

type Fn = (...args: unknown[]) => unknown;

/**
 * Watches the first status written to the client. When it is one to
 * replace, the upstream's head and body are swallowed and the page's
 * response is written instead through the functions that were in place
 * before (so outer wrappers such as compress still apply).
 */
class StatusCatcher {
  private state: 'head' | 'pass' | 'page' = 'head';
  served: Promise<void> = Promise.resolve();
  private readonly prev: { writeHead: Fn; write: Fn; end: Fn };

  constructor(
    private readonly ex: Exchange,
    private readonly opts: Options,
    private readonly page: Handler,
  ) {
    const res = ex.res;
    this.prev = { writeHead: res.writeHead.bind(res) as Fn, write: res.write.bind(res) as Fn, end: res.end.bind(res) as Fn };
    const self = this;
    res.writeHead = function (status: number, ...rest: unknown[]) {
      if (self.state === 'head') {
        self.observe(status);
        // The call that revealed a status to replace is the upstream's own: it never reaches the client.
        if ((self.state as string) === 'page') return res;
      }
      if (self.state === 'pass') return self.prev.writeHead(status, ...rest);
      // Serving the page: the caller is Node's implicit header for the page's own writes.
      return self.prev.writeHead(res.statusCode, ...rest);
    } as ServerResponse['writeHead'];
    res.write = function (...args: unknown[]) {
      if (self.state === 'head') self.observe(res.statusCode);
      if (self.state === 'pass') return self.prev.write(...args);
      return true;
    } as ServerResponse['write'];
    res.end = function (...args: unknown[]) {
      if (self.state === 'head') self.observe(res.statusCode);
      if (self.state === 'pass') return self.prev.end(...args);
      return res;
    } as ServerResponse['end'];
  }

  /** Takes over a failed exchange (a rejection with a status) if nothing went out yet. */
  takeOver(status: number): boolean {
    if (this.state !== 'head' || this.ex.res.headersSent) return false;
    this.state = 'page';
    this.served = this.serve(status);
    return true;
  }

  private observe(status: number): void {
    if (!inRanges(status, this.opts.status)) {
      this.state = 'pass';
      return;
    }
    this.state = 'page';
    this.served = this.serve(status);
  }

  private async serve(original: number): Promise<void> {
    const { ex, opts } = this;
    const res = ex.res;
    const rewrite = opts.statusRewrites.find(([lo, hi]) => original >= lo && original <= hi);
    const status = rewrite ? rewrite[2] : original;
    const target = opts.query
      .replace(/\{status\}/g, String(status))
      .replace(/\{originalStatus\}/g, String(original))
      .replace(/\{url\}/g, encodeURIComponent(ex.match.path + (ex.match.query ? `?${ex.match.query}` : '')));
    const q = target.indexOf('?');
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = status;
    // The page is fetched with GET and without the original body, whatever the original request was.
    ex.req.method = 'GET';
    delete ex.req.headers['content-length'];
    delete ex.req.headers['transfer-encoding'];
    const sub: Exchange = {
      ...ex,
      res: pageResponse(res, status, this.prev),
      path: q < 0 ? target : target.slice(0, q),
      query: q < 0 ? '' : target.slice(q + 1),
      responseHooks: [...ex.responseHooks],
      // The page's own upstream call must not overwrite what the service's upstream did.
      origin: newOrigin(),
    };
    try {
      await this.page(sub);
    } catch {
      if (!res.headersSent) {
        const body = `${STATUS_CODES[status] ?? 'Error'}\n`;
        this.prev.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        this.prev.end(body);
      }
    }
  }
}

/**
 * The client's response as the page service sees it: writes go to the
 * functions below the catcher, and the status is pinned to the one the
 * client must get, whatever the page service answers.
 */
function pageResponse(res: ServerResponse, status: number, prev: { writeHead: Fn; write: Fn; end: Fn }): ServerResponse {
  const message = STATUS_CODES[status] ?? '';
  const overrides: Record<string | symbol, unknown> = {
    writeHead: (_status: number, ...rest: unknown[]) => {
      const headers = typeof rest[0] === 'string' ? rest[1] : rest[0];
      return prev.writeHead(status, message, headers);
    },
    write: prev.write,
    end: prev.end,
  };
  return new Proxy(res, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop];
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as Fn).bind(target) : v;
    },
    set(target, prop, value) {
      if (prop === 'statusCode') return Reflect.set(target, prop, status);
      if (prop === 'statusMessage') return Reflect.set(target, prop, message);
      return Reflect.set(target, prop, value);
    },
  });
}
