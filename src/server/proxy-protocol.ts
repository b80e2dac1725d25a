/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a load
 * balancer in front sends before the client's bytes, to say who the client
 * is. Only the addresses are read; v2 TLVs are skipped.
 */

/** The v2 signature: `\r\n\r\n\0\r\nQUIT\n`. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The spec's bound for a v1 line, CRLF included. */
const V1_MAX = 107;
/** v2 allows 64 KiB of TLVs; nothing Portier reads needs more than this. */
export const V2_MAX = 4096;

export interface ProxyHeader {
  /** Bytes the header takes at the start of the connection. */
  length: number;
  /** The client as the sender saw it; absent for LOCAL (a health check of the balancer itself) and UNKNOWN. */
  source?: { address: string; port: number };
}

export const PROXY_INCOMPLETE = 0;
export const NO_PROXY_HEADER = 1;

/** Why a header was refused, with the byte at fault. */
export class ProxyHeaderError extends Error {}

/** `buf` starts with `sig`, or with a part of it as long as `buf`. */
function startsLike(buf: Buffer, sig: Buffer): boolean {
  const n = Math.min(buf.length, sig.length);
  return buf.compare(sig, 0, n, 0, n) === 0;
}

/**
 * Reads a PROXY header at the start of `buf`: the header, or
 * PROXY_INCOMPLETE when `buf` could still become one, or NO_PROXY_HEADER.
 * Throws ProxyHeaderError for a header that is malformed or too large.
 */
export function readProxyHeader(buf: Buffer): ProxyHeader | typeof PROXY_INCOMPLETE | typeof NO_PROXY_HEADER {
  if (buf.length === 0) return PROXY_INCOMPLETE;
  if (startsLike(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? PROXY_INCOMPLETE : readV1(buf);
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < 16 ? PROXY_INCOMPLETE : readV2(buf);
  return NO_PROXY_HEADER;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9a-fA-F:.]{2,45}$/;
const PORT = /^(?:0|[1-9]\d{0,4})$/;

function readV1(buf: Buffer): ProxyHeader | typeof PROXY_INCOMPLETE {
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) {
    if (buf.length >= V1_MAX) throw new ProxyHeaderError(`PROXY v1 header longer than ${V1_MAX} bytes`);
    return PROXY_INCOMPLETE;
  }
  if (end + 2 > V1_MAX) throw new ProxyHeaderError(`PROXY v1 header longer than ${V1_MAX} bytes`);
  const line = buf.toString('latin1', 0, end);
  const parts = line.split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { length };
  if (parts.length !== 6) throw new ProxyHeaderError(`PROXY v1 header: expected 6 fields, got ${parts.length}`);
  const [, family, src, , sport] = parts;
  const ip = family === 'TCP4' ? IPV4 : family === 'TCP6' ? IPV6 : null;
  if (!ip) throw new ProxyHeaderError(`PROXY v1 header: unknown protocol ${JSON.stringify(family)} at byte 6`);
  for (const [i, addr] of [2, 3].map((k) => [k, parts[k]] as const)) {
    if (!ip.test(addr)) throw new ProxyHeaderError(`PROXY v1 header: invalid address ${JSON.stringify(addr)} (field ${i + 1})`);
  }
  for (const p of [parts[4], parts[5]]) {
    if (!PORT.test(p) || Number(p) > 65535) throw new ProxyHeaderError(`PROXY v1 header: invalid port ${JSON.stringify(p)}`);
  }
  return { length, source: { address: src, port: Number(sport) } };
}

function readV2(buf: Buffer): ProxyHeader | typeof PROXY_INCOMPLETE {
  const verCmd = buf[12];
  if (verCmd >> 4 !== 2) throw new ProxyHeaderError(`PROXY v2 header: version ${verCmd >> 4} at byte 12`);
  const command = verCmd & 0x0f;
  if (command > 1) throw new ProxyHeaderError(`PROXY v2 header: unknown command ${command} at byte 12`);
  const length = 16 + buf.readUInt16BE(14);
  if (length > V2_MAX) throw new ProxyHeaderError(`PROXY v2 header of ${length} bytes, over ${V2_MAX}`);
  if (buf.length < length) return PROXY_INCOMPLETE;
  // LOCAL: the balancer speaking for itself; the connection's own peer stands.
  if (command === 0) return { length };
  const family = buf[13] >> 4;
  const transport = buf[13] & 0x0f;
  if (family === 0 || transport !== 1) return { length };
  if (family === 1) {
    if (length < 16 + 12) throw new ProxyHeaderError('PROXY v2 header: too short for IPv4 addresses');
    return { length, source: { address: [...buf.subarray(16, 20)].join('.'), port: buf.readUInt16BE(24) } };
  }
  if (family === 2) {
    if (length < 16 + 36) throw new ProxyHeaderError('PROXY v2 header: too short for IPv6 addresses');
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + i * 2).toString(16));
    return { length, source: { address: compressIPv6(groups), port: buf.readUInt16BE(48) } };
  }
  // AF_UNIX and anything newer: no IP to believe.
  return { length };
}

/** RFC 5952's text form, so the address compares equal to what Node reports for the same peer. */
function compressIPv6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
