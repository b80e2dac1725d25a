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
