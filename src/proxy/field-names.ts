import type { OutgoingHttpHeader } from 'node:http';

/**
 * Field names as most clients and servers write them, each mapped to its
 * lower-case form. A name found here comes back as one shared string whose
 * hash V8 has already computed: the property lookups and Set checks that
 * follow cost less than with a fresh `toLowerCase()` copy each time.
 */
const COMMON = new Map<string, string>(
  [
    'Host', 'User-Agent', 'Accept', 'Accept-Encoding', 'Accept-Language', 'Connection', 'Keep-Alive', 'Cookie', 'Referer', 'Origin',
    'Authorization', 'Cache-Control', 'Pragma', 'If-None-Match', 'If-Modified-Since', 'Upgrade-Insecure-Requests', 'X-Requested-With',
    'Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest', 'Sec-Fetch-User', 'DNT', 'Server', 'Date', 'Content-Type', 'Content-Length',
    'Transfer-Encoding', 'Set-Cookie', 'ETag', 'Last-Modified', 'Vary', 'Location', 'Content-Encoding', 'Accept-Ranges', 'Expires',
    'X-Powered-By', 'Strict-Transport-Security', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Real-Ip',
  ].flatMap((n) => [[n, n.toLowerCase()], [n.toLowerCase(), n.toLowerCase()]] as [string, string][]),
);

export const lowerName = (name: string): string => COMMON.get(name) ?? name.toLowerCase();

/** An HTTP field name (RFC 9110 5.6.2 token). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const BAD_VALUE = /[\0\r\n]/;

/**
 * A field Node's setHeader would refuse is refused wherever Portier sets
 * one without Node checking it (direct responses, fields hooks added), with
 * Node's error codes.
 */
export function checkField(name: string, value: OutgoingHttpHeader): void {
  if (!TOKEN.test(name)) throw Object.assign(new TypeError(`invalid header name ${JSON.stringify(name)}`), { code: 'ERR_INVALID_HTTP_TOKEN' });
  for (const v of Array.isArray(value) ? value : [value]) {
    if (BAD_VALUE.test(String(v))) throw Object.assign(new TypeError(`invalid character in header ${JSON.stringify(name)}`), { code: 'ERR_INVALID_CHAR' });
  }
}
