import { BlockList, isIP } from 'node:net';
import { configError } from '../../src/errors';
import { string } from '../../src/config/decode';
import type { Decoder } from '../../src/config/decode';

/** A set of IP ranges (`10.0.0.0/8`, `::1`, `192.168.1.7`), v4 and v6. */
export interface IpSet {
  contains(ip: string): boolean;
}

/** Unwraps IPv4-mapped IPv6 (`::ffff:127.0.0.1`) and strips a zone or brackets. */
export function normalizeIp(ip: string): string {
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return mapped ? mapped[1] : s;
}

interface Range {
  ip: string;
  type: 'ipv4' | 'ipv6';
  prefix?: number;
}

function parseRange(raw: string, path: string): Range {
  const [addr, bits, extra] = raw.trim().split('/');
  const ip = normalizeIp(addr ?? '');
  const family = isIP(ip);
  if (family === 0 || extra !== undefined) throw configError(path, `not an IP address or CIDR range: ${JSON.stringify(raw)}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) return { ip, type };
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw configError(path, `bad prefix length in ${JSON.stringify(raw)}`);
  return { ip, type, prefix };
}

/** An IP or CIDR option, validated at decode time so that the error names the option. */
export const cidrOption: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  parseRange(s, path);
  return s;
};

export function ipSet(ranges: readonly string[], path = 'sourceRange'): IpSet {
  const list = new BlockList();
  ranges.forEach((raw, i) => {
    const r = parseRange(raw, `${path}[${i}]`);
    if (r.prefix === undefined) list.addAddress(r.ip, r.type);
    else list.addSubnet(r.ip, r.prefix, r.type);
  });
  return {
    contains(candidate: string): boolean {
      const ip = normalizeIp(candidate);
      const family = isIP(ip);
      if (family === 0) return false;
      return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
