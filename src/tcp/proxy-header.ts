import net from 'node:net';

/**
 * The PROXY protocol header (HAProxy's spec) Portier writes before the
 * client's bytes when a TCP service or serversTransport asks for it, so the
 * server sees the client's address instead of Portier's. The reader is
 * src/server/proxy-protocol.ts.
 */

export interface ProxyEnds {
  source: { address: string; port: number };
  destination: { address: string; port: number };
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is said as IPv4, as a server would log it. */
const plain = (ip: string): string => (ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip);

/** Both ends in one family, or none: the header then says UNKNOWN (v1) or LOCAL (v2), keeping the server's own view. */
function family(ends: ProxyEnds): 4 | 6 | 0 {
  const [s, d] = [net.isIP(plain(ends.source.address)), net.isIP(plain(ends.destination.address))];
  if (s === 4 && d === 4) return 4;
  if (s !== 0 && d !== 0) return 6;
  return 0;
}

/** IPv4 written as IPv6 (`::ffff:a.b.c.d`) when the other end is IPv6. */
const as6 = (ip: string): string => (net.isIPv4(ip) ? `::ffff:${ip}` : ip);

function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const parts = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((parts[0] << 8) | parts[1]).toString(16)}:${((parts[2] << 8) | parts[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

export function proxyHeaderV1(ends: ProxyEnds): Buffer {
  const f = family(ends);
  if (f === 0) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const [s, d] = [plain(ends.source.address), plain(ends.destination.address)];
  const [src, dst] = f === 4 ? [s, d] : [as6(s), as6(d)];
  return Buffer.from(`PROXY TCP${f} ${src} ${dst} ${ends.source.port} ${ends.destination.port}\r\n`, 'latin1');
}

export function proxyHeaderV2(ends: ProxyEnds): Buffer {
  const f = family(ends);
  if (f === 0) return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const [s, d] = [plain(ends.source.address), plain(ends.destination.address)];
  const addr = f === 4
    ? Buffer.concat([Buffer.from(s.split('.').map(Number)), Buffer.from(d.split('.').map(Number)), Buffer.alloc(4)])
    : Buffer.concat([ipv6Bytes(as6(s)), ipv6Bytes(as6(d)), Buffer.alloc(4)]);
  addr.writeUInt16BE(ends.source.port, addr.length - 4);
  addr.writeUInt16BE(ends.destination.port, addr.length - 2);
  const head = Buffer.from([0x21, f === 4 ? 0x11 : 0x21, 0, 0]);
  head.writeUInt16BE(addr.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, addr]);
}

export const proxyHeader = (version: 1 | 2, ends: ProxyEnds): Buffer => (version === 1 ? proxyHeaderV1(ends) : proxyHeaderV2(ends));
