import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'upgrade'];

/**
 * Fields with no meaning in HTTP/2 (RFC 9113 8.2.2), which Node refuses on
 * an HTTP/2 response (ERR_HTTP2_INVALID_CONNECTION_HEADER): a response
 * relayed to an HTTP/2 client goes without them.
 */
export const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/**
 * Removes hop-by-hop headers, and every header the Connection header names
 * (RFC 9110 7.6.1). Runs before Portier sets X-Forwarded-*, so a client
 * cannot strip them by naming them in Connection (CVE-2024-45410).
 * Transfer-Encoding is left to Node, which frames bodies itself.
 */
export function stripHopByHop(headers: IncomingHttpHeaders, keepUpgrade: boolean): void {
  const connection = headers.connection;
  if (connection) dropNamedFields(headers, String(connection), keepUpgrade);
  for (const name of HOP_BY_HOP) {
    if (keepUpgrade && (name === 'upgrade' || name === 'connection')) continue;
    // `delete` of a present key drops the object into slow dictionary mode; most of these are absent.
    if (headers[name] !== undefined) delete headers[name];
  }
  if (keepUpgrade) headers.connection = 'upgrade';
}

/** Removes the fields a Connection value names (`keepUpgrade`: except Upgrade). */
export function dropNamedFields(headers: IncomingHttpHeaders, connection: string, keepUpgrade = false): void {
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive' && !(keepUpgrade && name === 'upgrade') && headers[name] !== undefined) delete headers[name];
  }
}
