import type { Decoder } from '../src/config/decode';
import type { Handler, Middleware } from '../src/proxy/exchange';
import type { Logger } from '../src/log/logger';
import type { Transport, TransportOptions } from '../src/proxy/transport';

/** What a middleware may ask of the gateway when it is created. */
export interface MiddlewareContext {
  /** The compiled handler of a service by its (provider-qualified) name, for `errors`. */
  service(name: string): Handler | undefined;
  /** The compiled middleware of another name, for `chain`. */
  middleware(name: string): Middleware | undefined;
  log: Logger;
  /** A transport for the middleware's own calls out (forwardAuth's), closed once the middleware is replaced. */
  transport(options: TransportOptions): Transport;
}

/**
 * A middleware type: Traefik's type name, a decoder from raw options (YAML
 * values or label strings; errors name the option's path) and a factory
 * from the decoded options to the middleware.
 */
export interface MiddlewareType<O> {
  readonly type: string;
  readonly options: Decoder<O>;
  create(opts: O, ctx: MiddlewareContext): Middleware;
  /**
   * Its handler reads only the exchange, the request's method, URL and
   * fields, and answers (if it does) through writeHead/end: never a body,
   * no response event but `close`, no wrapping of write(). Such middlewares
   * run on every front end, the direct path's included (docs/direct-path.md).
   */
  readonly plain?: boolean;
}

/** Keeps the decoder's output type tied to the factory's input type. */
export function defineMiddleware<O>(def: MiddlewareType<O>): MiddlewareType<O> {
  return def;
}
