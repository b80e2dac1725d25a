/**
 * IP and CIDR membership for ClientIP, parsed once per rule. IPv4 is a 32-bit
 * number; IPv6 is eight 16-bit groups. An IPv4 client is compared with an IPv6
 * range through its IPv4-mapped form (::ffff:a.b.c.d) and vice versa.
 */

export function parseIPv4(s: string): number {
  let value = 0;
  let parts = 0;
  let i = 0;
  while (parts < 4) {
    const start = i;
    let octet = 0;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57 && i - start < 3) {
      octet = octet * 10 + s.charCodeAt(i) - 48;
      i++;
    }
    // Go rejects leading zeros (ambiguous octal) since 1.17.
    if (i === start || octet > 255 || (s[start] === '0' && i - start > 1)) return -1;
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (s[i] !== '.') return -1;
      i++;
    }
  }
  return i === s.length ? value : -1;
}

export function parseIPv6(input: string): number[] | null {
  const zone = input.indexOf('%');
  const s = zone >= 0 ? input.slice(0, zone) : input;
  if (!s.includes(':')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let k = 0; k < pieces.length; k++) {
      const p = pieces[k];
      if (allowV4Tail && k === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 < 0) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = parseGroups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1], true) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

const isV4Mapped = (g: number[]): boolean =>
  g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;

/** Returns a membership test, or null when `spec` is neither an IP nor a CIDR. */
export function compileIpRange(spec: string): ((ip: string) => boolean) | null {
  const slash = spec.indexOf('/');
  const addr = slash >= 0 ? spec.slice(0, slash) : spec;
  const bitsText = slash >= 0 ? spec.slice(slash + 1) : '';
  if (slash >= 0 && !/^[0-9]{1,3}$/.test(bitsText)) return null;

  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    const bits = slash >= 0 ? Number(bitsText) : 32;
    if (bits > 32) return null;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const net = (v4 & mask) >>> 0;
    return (ip) => {
      let n = parseIPv4(ip);
      if (n < 0) {
        const g = parseIPv6(ip);
        if (!g || !isV4Mapped(g)) return false;
        n = g[6] * 65536 + g[7];
      }
      return ((n & mask) >>> 0) === net;
    };
  }

  const groups = parseIPv6(addr);
  if (!groups) return null;
  const bits = slash >= 0 ? Number(bitsText) : 128;
  if (bits > 128) return null;
  const masks = groups.map((_, k) => {
    const b = Math.min(16, Math.max(0, bits - 16 * k));
    return b === 0 ? 0 : (0xffff << (16 - b)) & 0xffff;
  });
  const net = groups.map((g, k) => g & masks[k]);
  return (ip) => {
    let g = parseIPv6(ip);
    if (!g) {
      const n = parseIPv4(ip);
      if (n < 0) return false;
      g = [0, 0, 0, 0, 0, 0xffff, Math.floor(n / 65536), n % 65536];
    }
    for (let k = 0; k < 8; k++) if ((g[k] & masks[k]) !== net[k]) return false;
    return true;
  };
}
