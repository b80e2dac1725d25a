import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MatchRequest } from '../rules/types';

/**
 * One request's journey through the gateway. The entrypoint creates it; the
 * middleware chain may rewrite `path`/`query` and add response hooks; the
 * service handler forwards it.
 */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly entryPoint: string;
  readonly tls: boolean;
  /** Peer address of the TCP connection. */
  readonly remoteIp: string;
  /** Client address after trusted X-Forwarded-For processing. */
  readonly clientIp: string;
  readonly match: MatchRequest;
  /** Path and query sent upstream; middlewares rewrite them. */
  path: string;
  query: string;
  /** When the request arrived (hrtime); 0n when nothing records timings (no observers): then no clock is read. */
  readonly startedAt: bigint;
  routerName?: string;
  serviceName?: string;
  serverUrl?: string;
  retryAttempts: number;
  /**
   * Called with the upstream's status and the response about to go to the
   * client, its fields already set from the upstream's (sticky cookie
   * included), in registration order: a hook edits them there.
   */
  readonly responseHooks: ((status: number, fields: ResponseFields, ex: Exchange) => void)[];
  /** What the upstream did, filled in by the forwarder (the access log's Origin* fields); shared by copies of the exchange. */
  readonly origin: Origin;
  /**
   * Set for an HTTP upgrade (WebSocket): `res` is then bound to the raw
   * socket, so middlewares can still answer with a normal response.
   */
  readonly upgrade?: { socket: Duplex; head: Buffer };
  /**
   * Its request fields are what a front end's parser accepted (the direct
   * reader's or llhttp's), or fields as valid, so forwarding need not check
   * them again: no middleware runs on this exchange (set by the dispatch,
   * from the router, whichever front end parsed the request), or only ones
   * that keep fields valid (composeRouter).
   */
  fieldsAsParsed: boolean;
}

/**
 * The fields of a response not yet sent, as Node's ServerResponse and
 * Portier's own responses both offer them; setHeader and appendHeader refuse
 * an invalid field (Node's error codes). Names are case-insensitive.
 */
export interface ResponseFields {
  getHeader(name: string): OutgoingHttpHeader | undefined;
  setHeader(name: string, value: OutgoingHttpHeader): unknown;
  appendHeader(name: string, value: string | readonly string[]): unknown;
  removeHeader(name: string): void;
}

export interface Origin {
  /** The upstream's status; 0 while (or if) none arrived. */
  status: number;
  /** Body bytes received from the upstream. */
  bytes: number;
  /** When the last attempt was sent; 0n before any. */
  startedAt: bigint;
  /** From sending the request to the end of the upstream's part (response complete, failed or abandoned). */
  durationNs: number;
}

export const newOrigin = (): Origin => ({ status: 0, bytes: 0, startedAt: 0n, durationNs: 0 });

/**
 * Handles an exchange. It either answers (resolving once the response is
 * handed off) or rejects with a `PortierError` carrying a status — but only
 * while nothing has been written, so that an outer middleware (retry,
 * errors) may still act. The entrypoint maps a rejection to a short error
 * response.
 */
export type Handler = (ex: Exchange) => Promise<void>;

/**
 * The one form of a router's or service's work, as the entrypoint calls it
 * for every request: `done` once, with nothing when the response was handed
 * off, with the error (a PortierError with a status) while nothing was
 * written. Callbacks, not promises: a router without middlewares costs no promise per request.
 */
export type Dispatch = (ex: Exchange, done: (err?: unknown) => void) => void;

/** A Dispatch as a Handler, for what wraps it in promise form (middleware chains, `errors`' service). */
export const toHandler =
  (dispatch: Dispatch): Handler =>
  (ex) =>
    new Promise<void>((resolve, reject) => dispatch(ex, (err) => (err === undefined ? resolve() : reject(err))));

/** A Handler (a middleware chain, a weighted service) as a Dispatch. */
export const toDispatch =
  (handler: Handler): Dispatch =>
  (ex, done) => {
    handler(ex).then(() => done(), done);
  };

/**
 * A middleware wraps the next handler once, at compile time. One written
 * in callback form (dispatchMiddleware) carries that form too, so that a
 * chain of such middlewares costs no promise per request.
 */
export type Middleware = ((next: Handler) => Handler) & {
  readonly dispatch?: (next: Dispatch) => Dispatch;
  /** Every request field it sets is valid as a front end's parser would have it (its options are checked): see fieldsAsParsed. */
  readonly keepsFieldsValid?: boolean;
};

/** A middleware written as `dispatch => dispatch` (undici's interceptors), usable in promise form as well. */
export function dispatchMiddleware(wrap: (next: Dispatch) => Dispatch, opts: { keepsFieldsValid?: boolean } = {}): Middleware {
  return Object.assign((next: Handler) => toHandler(wrap(toDispatch(next))), { dispatch: wrap, keepsFieldsValid: opts.keepsFieldsValid === true });
}

/** A chain composed once over its target: promise-form middlewares are adapted, callback-form ones wrap it directly. */
export function compose(chain: readonly Middleware[], target: Dispatch): Dispatch {
  let dispatch = target;
  for (let i = chain.length - 1; i >= 0; i--) {
    const mw = chain[i];
    dispatch = mw.dispatch ? mw.dispatch(dispatch) : toDispatch(mw(toHandler(dispatch)));
  }
  return dispatch;
}

/**
 * A router's whole chain over its service. When every middleware of it
 * keeps fields valid, its exchanges are marked fieldsAsParsed: the forwarder
 * need not check every field again. (Only a whole chain may say so: a chain
 * nested in another cannot vouch for what ran before it.)
 */
export function composeRouter(chain: readonly Middleware[], target: Dispatch): Dispatch {
  const inner = compose(chain, target);
  if (chain.length === 0 || !chain.every((mw) => mw.keepsFieldsValid)) return inner;
  return (ex, done) => {
    ex.fieldsAsParsed = true;
    inner(ex, done);
  };
}
