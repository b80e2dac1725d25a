import type { IncomingHttpHeaders } from 'node:http';
import { lowerName } from '../proxy/field-names';
import { FORWARDED } from '../proxy/forwarded';

const FORWARDED_FIELDS = new Set(FORWARDED);

/** A request head the direct path serves itself: origin-form, HTTP/1.1, no body, every field once. */
export interface PlainRequestHead {
  method: string;
  url: string;
  /** Lower-cased names, each present once; hop-by-hop fields left out. */
  headers: IncomingHttpHeaders;
  /** Names as sent and values, alternating (as Node's `rawHeaders`). */
  rawHeaders: string[];
  /** Offset just past the blank line that ends the head. */
  end: number;
  /** It carries one of the fields Portier sets (X-Forwarded-*, X-Real-Ip, Forwarded). */
  forwarded: boolean;
}

/** Not enough bytes yet for a whole head. */
export const INCOMPLETE = 0;
/** Anything outside the plain subset: the connection goes to Node's HTTP server, which decides. */
export const HAND_OFF = 1;

// Methods that never carry a body in practice and that every parser knows; others are handed off.
const REQUEST_LINE = /(GET|HEAD|OPTIONS|DELETE) (\/[!-~]*) HTTP\/1\.1\r\n/y;
// A field line of a token name and a value of visible ASCII with inner spaces or tabs; obs-text, control
// bytes, obs-fold and a space before the colon all fall outside and are handed off.
const FIELD_LINE = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[!-~]+(?:[ \t]+[!-~]+)*)?)[ \t]*\r\n/y;
/**
 * Fields whose presence means more than a plain exchange: a body and its
 * framing, a protocol change, an interim response, a connection to close.
 * `__proto__` is here because it cannot be an own key of a plain object,
 * Proxy-Connection because llhttp reads it as Connection.
 */
const HANDED_OFF_FIELDS = new Set(['content-length', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings', '__proto__', 'proxy-connection']);
/** Hop-by-hop fields (RFC 9110 7.6.1): kept in `rawHeaders`, left out of `headers`, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer']);

/**
 * Reads one request head from `buf` at `start` for the direct path, or says
 * why not. It accepts only a strict subset of what Node's parser (llhttp)
 * accepts with the same meaning, so a request it takes is one Node would
 * have read identically; for everything else (bodies, upgrades, HTTP/1.0,
 * absolute or `*` targets, repeated fields, obs-text, oversized heads,
 * `Connection` other than keep-alive) it answers HAND_OFF and the exact
 * bytes go to Node's server, whose hygiene and errors then apply unchanged.
 * test/unit/request-head.test.ts checks the subset against llhttp itself.
 */
export function readRequestHead(buf: Buffer, start: number, maxHeadBytes: number, maxFields: number): PlainRequestHead | typeof INCOMPLETE | typeof HAND_OFF {
  // One conversion of at most a head's worth of bytes, then string searches (cheaper than Buffer.indexOf).
  const text = buf.toString('latin1', start, Math.min(buf.length, start + maxHeadBytes + 4));
  const blank = text.indexOf('\r\n\r\n');
  if (blank < 0) return buf.length - start > maxHeadBytes ? HAND_OFF : INCOMPLETE;
  if (blank + 4 > maxHeadBytes) return HAND_OFF;
  const fieldsEnd = blank + 2;
  const end = start + blank + 4;
  REQUEST_LINE.lastIndex = 0;
  const line = REQUEST_LINE.exec(text);
  if (!line) return HAND_OFF;
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  let at = REQUEST_LINE.lastIndex;
  let hopByHop: Set<string> | undefined;
  let forwarded = false;
  while (at < fieldsEnd) {
    // test(), not exec(): the line is checked without a match array; its two parts are sliced out by position.
    FIELD_LINE.lastIndex = at;
    if (!FIELD_LINE.test(text) || rawHeaders.length >= maxFields * 2) return HAND_OFF;
    const colon = text.indexOf(':', at);
    const sent = text.slice(at, colon);
    const name = lowerName(sent);
    if (headers[name] !== undefined || HANDED_OFF_FIELDS.has(name)) return HAND_OFF;
    let from = colon + 1;
    let to = FIELD_LINE.lastIndex - 2;
    at = FIELD_LINE.lastIndex;
    while (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9) from++;
    while (to > from && (text.charCodeAt(to - 1) === 32 || text.charCodeAt(to - 1) === 9)) to--;
    const value = text.slice(from, to);
    rawHeaders.push(sent, value);
    if (HOP_BY_HOP.has(name)) {
      if (hopByHop?.has(name) || (name === 'connection' && value.toLowerCase() !== 'keep-alive')) return HAND_OFF;
      (hopByHop ??= new Set()).add(name);
      continue;
    }
    headers[name] = value;
    // x… and f…: a first letter spares most names the set lookup.
    const first = name.charCodeAt(0);
    if ((first === 120 || first === 102) && FORWARDED_FIELDS.has(name)) forwarded = true;
  }
  if (headers.host === undefined) return HAND_OFF;
  return { method: line[1], url: line[2], headers, rawHeaders, end, forwarded };
}
