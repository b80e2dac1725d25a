import type { IncomingMessage, ServerResponse, IncomingHttpHeaders } from 'node:http';
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
   * Called with the upstream's status and (mutable) headers before they are
   * written to the client, in registration order.
   */
  readonly responseHooks: ((status: number, headers: IncomingHttpHeaders, ex: Exchange) => void)[];
  /** What the upstream did, filled in by the forwarder (the access log's Origin* fields); shared by copies of the exchange. */
  readonly origin: Origin;
  /**
   * Set for an HTTP upgrade (WebSocket): `res` is then bound to the raw
   * socket, so middlewares can still answer with a normal response.
   */
  readonly upgrade?: { socket: Duplex; head: Buffer };
  /**
   * No middleware runs on this exchange (its router has none): its request
   * fields are exactly what a front end's parser accepted (the direct
   * reader's or llhttp's), so forwarding need not check them again. Set by
   * the dispatch, from the router, whichever front end parsed the request.
   */
  fieldsAsParsed: boolean;
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

/** A middleware wraps the next handler once, at compile time. */
export type Middleware = (next: Handler) => Handler;
