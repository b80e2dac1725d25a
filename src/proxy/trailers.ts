import type { Exchange } from './exchange';
import { isH2Response } from '../server/node-response';

/** A `TE` field that accepts trailers (RFC 9110 10.1.4). */
const TE_TRAILERS = /(?:^|,)\s*trailers\s*(?:[,;]|$)/i;

/**
 * The client reads trailers: every HTTP/2 client; an HTTP/1.1 one that
 * said so with `TE: trailers` (hop-by-hop, so read from the fields as
 * received, which every front end keeps in rawHeaders).
 */
export function readsTrailers(ex: Exchange): boolean {
  if (isH2Response(ex.res)) return true;
  const raw = ex.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 2 && raw[i].toLowerCase() === 'te' && TE_TRAILERS.test(raw[i + 1])) return true;
  return false;
}
