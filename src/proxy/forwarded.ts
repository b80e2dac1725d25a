import { hostname } from 'node:os';
import type { IncomingHttpHeaders } from 'node:http';
import { compileIpRange } from '../rules/ip-range';
import { configError } from '../errors';

/** The fields Portier sets, which a client may send only from a trusted address. */
export const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'x-forwarded-prefix', 'x-real-ip', 'forwarded'];
const SERVER = hostname();

/** Which peers may set X-Forwarded-* (`forwardedHeaders.trustedIPs`); compiled once per entrypoint. */
export function trustedPeers(ranges: string[], insecure: boolean, path: string): (ip: string) => boolean {
  if (insecure) return () => true;
  const tests = ranges.map((r, i) => {
    const t = compileIpRange(r.trim());
    if (!t) throw configError(`${path}[${i}]`, `not an IP or CIDR: ${JSON.stringify(r)}`);
    return t;
  });
  return (ip) => tests.some((t) => t(ip));
}

/**
 * Sets X-Forwarded-For/-Proto/-Host/-Port/-Server and X-Real-Ip as Portier
 * sees the request. Values a client sent are kept only when its peer is
 * trusted; otherwise they are discarded, never appended to. Returns the
 * client IP the rest of the pipeline should believe.
 */
export function applyForwarded(
  headers: IncomingHttpHeaders,
  peer: { remoteIp: string; tls: boolean; localPort: number; trusted: boolean },
  /** False when the request is known to carry none of these fields (the direct path's reader knows). */
  mayCarry = true,
): string {
  const { remoteIp, tls, localPort, trusted } = peer;
  if (!trusted) {
    // `delete` of an absent key is not free, and most requests carry none of these.
    if (mayCarry) for (const name of FORWARDED) if (headers[name] !== undefined) delete headers[name];
    headers['x-forwarded-for'] = remoteIp;
    headers['x-forwarded-proto'] = tls ? 'https' : 'http';
    if (headers.host !== undefined) headers['x-forwarded-host'] = headers.host;
    headers['x-forwarded-port'] = String(localPort);
    headers['x-forwarded-server'] = SERVER;
    headers['x-real-ip'] = remoteIp;
    return remoteIp;
  }
  const prior = headers['x-forwarded-for'];
  const chain = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remoteIp}` : remoteIp;
  headers['x-forwarded-for'] = chain;
  headers['x-forwarded-proto'] ??= tls ? 'https' : 'http';
  if (headers.host !== undefined) headers['x-forwarded-host'] ??= headers.host;
  headers['x-forwarded-port'] ??= String(localPort);
  headers['x-forwarded-server'] = SERVER;
  const clientIp = prior ? String(prior).split(',')[0].trim() : remoteIp;
  headers['x-real-ip'] ??= clientIp;
  return clientIp;
}
