import type { Exchange } from '../../src/proxy/exchange';

/**
 * Keeps the request body in the socket while a middleware awaits something
 * (a password hash, an auth server) before calling next: a request stream
 * already flowing would otherwise drop chunks nobody is piping yet. The
 * forwarder's pipe resumes it.
 */
export function holdRequestBody(ex: Exchange): void {
  ex.req.pause();
}
