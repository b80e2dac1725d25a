/**
 * The canonical forms of path and host that rules are matched against.
 *
 * Routing path (Traefik's CWE-436 fix): `%XX` escapes of unreserved characters
 * (ALPHA DIGIT - . _ ~) are decoded, every other escape is kept with uppercase
 * hex, so `/a%2Fb` never matches `PathPrefix(`/a/`)` while `/%61pi` is `/api`.
 * Characters that may not appear raw in a path (space, `{`, non-ASCII …) are
 * percent-encoded as UTF-8, the way Go's URL.EscapedPath() shows them; a `%`
 * not followed by two hex digits becomes `%25`. Rule arguments of Path and
 * PathPrefix go through the same function, so `Path(`/café`)` matches a
 * request for `/caf%C3%A9`.
 *
 * Dot-segments (`/a/../b`) are not touched here: the entrypoint resolves or
 * rejects them before computing the routing path.
 */

const ENCODE = 0;
const RAW = 1;
const UNRESERVED = 2;

const KIND = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~]/.test(ch)) KIND[c] = UNRESERVED;
  else if ("!$&'()*+,;=:@[]/".includes(ch)) KIND[c] = RAW;
}

const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

function needsWork(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c >= 128 || KIND[c] === ENCODE) return true;
  }
  return false;
}

function encodeUtf8(cp: number): string {
  let s: string;
  try {
    s = encodeURIComponent(String.fromCodePoint(cp));
  } catch {
    s = '%EF%BF%BD'; // a lone surrogate: U+FFFD, as a UTF-8 encoder would write it
  }
  return s;
}

export function routingPath(rawPath: string): string {
  if (!needsWork(rawPath)) return rawPath;
  let out = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = hexValue(rawPath.charCodeAt(i + 1));
      const lo = hexValue(rawPath.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) { out += '%25'; continue; }
      const byte = hi * 16 + lo;
      out += byte < 128 && KIND[byte] === UNRESERVED
        ? String.fromCharCode(byte)
        : '%' + rawPath.slice(i + 1, i + 3).toUpperCase();
      i += 2;
    } else if (c < 128) {
      out += KIND[c] === ENCODE ? '%' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase() : rawPath[i];
    } else {
      const cp = rawPath.codePointAt(i)!;
      out += encodeUtf8(cp);
      if (cp > 0xffff) i++;
    }
  }
  return out;
}

/**
 * Host header (or absolute-form URL authority) to the form Host rules see:
 * lowercase, port stripped (`[::1]:80` → `::1`), trailing dot stripped.
 */
export function normalizeHost(hostHeader: string): string {
  let h = hostHeader.toLowerCase();
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    if (close > 0) h = h.slice(1, close);
  } else {
    const colon = h.indexOf(':');
    // More than one colon without brackets is a bare IPv6 address, not host:port.
    if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}
