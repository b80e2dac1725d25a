import type { Exchange } from '../../src/proxy/exchange';
import { respond } from './respond';

/**
 * Traefik's redirect statuses: 302/301 for GET and 307/308 for every other
 * method, so that a browser never turns a redirected POST into a GET.
 */
export function redirectStatus(method: string | undefined, permanent: boolean): number {
  const get = method === 'GET' || method === undefined;
  if (permanent) return get ? 301 : 308;
  return get ? 302 : 307;
}

export function redirect(ex: Exchange, location: string, permanent: boolean): Promise<void> {
  return respond(ex, redirectStatus(ex.req.method, permanent), { location });
}
