import t from 'tap';
import { startTestGateway } from '../helpers/gateway';
import { sendRaw, startCountingBackend, type SeenRequest } from './raw-client';

/**
 * Malformed and smuggling requests, as raw bytes, against the real gateway
 * with one router, PathPrefix(`/public`), in front of a backend that records
 * every request head it receives. Each request carries `X-Case: <n>` so what
 * the backend saw can be tied to its case.
 *
 * `status`: the only response on the connection ('close': none, the
 * connection is closed). Rejected cases (not 404) must close the connection and reach
 * the backend not at all, except `bodyError` cases (the head was valid, the
 * body framing is not): their head may reach the backend but no complete
 * request does. `accepted`: what the backend must have received instead.
 */
interface Case {
  name: string;
  bytes: string;
  status: number | 'close';
  bodyError?: boolean;
  accepted?: { url: string; body?: string; absent?: string[]; headers?: Record<string, string> };
}

const HOST = 'hostile.localhost';
const crlf = (...lines: string[]): string => lines.join('\r\n');
/** A request whose head lines are joined with CRLF and end with an empty line. */
const head = (line: string, ...headers: string[]): string => crlf(line, ...headers, '', '');
const post = (...headers: string[]): string => head('POST /public/p HTTP/1.1', `Host: ${HOST}`, ...headers);
const get = (target: string, ...headers: string[]): string => head(`GET ${target} HTTP/1.1`, `Host: ${HOST}`, ...headers);
const smuggled = 'GET /admin HTTP/1.1\r\nHost: hostile.localhost\r\n\r\n';

const cases: Case[] = [
  // Content-Length and Transfer-Encoding disagreeing (CL.TE, TE.CL) and TE obfuscations.
  { name: 'CL.TE', bytes: post('Content-Length: 6', 'Transfer-Encoding: chunked') + '0\r\n\r\nG', status: 400 },
  { name: 'TE.CL', bytes: post('Transfer-Encoding: chunked', 'Content-Length: 4') + '5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n', status: 400 },
  { name: 'CL.TE with a smuggled request after the chunked end', bytes: post('Content-Length: 60', 'Transfer-Encoding: chunked') + '0\r\n\r\n' + smuggled, status: 400 },
  { name: 'TE: chunked, chunked', bytes: post('Transfer-Encoding: chunked, chunked') + '0\r\n\r\n', status: 400 },
  { name: 'TE twice on two lines', bytes: post('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked') + '0\r\n\r\n', status: 400 },
  { name: 'TE: xchunked', bytes: post('Transfer-Encoding: xchunked') + '0\r\n\r\n', status: 501 },
  { name: 'TE: chunked-false', bytes: post('Transfer-Encoding: chunked-false', 'Content-Length: 3') + 'abc', status: 400 },
  { name: 'TE: identity', bytes: post('Transfer-Encoding: identity', 'Content-Length: 5') + 'hello', status: 400 },
  { name: 'TE: chunked, identity', bytes: post('Transfer-Encoding: chunked, identity') + '0\r\n\r\n', status: 400 },
  { name: 'TE: gzip, chunked (unsupported coding)', bytes: post('Transfer-Encoding: gzip, chunked') + '0\r\n\r\n', status: 501 },
  { name: 'TE with a space before the colon', bytes: post('Transfer-Encoding : chunked', 'Content-Length: 5') + 'hello', status: 400 },
  { name: 'TE line starting with a space (fold of Host)', bytes: post(' Transfer-Encoding: chunked', 'Content-Length: 5') + 'hello', status: 400 },
  { name: 'TE folded onto a second line', bytes: post('Transfer-Encoding: chunked', ' , identity', 'Content-Length: 5') + 'hello', status: 400 },
  { name: 'TE value after a tab (valid OWS)', bytes: post('Transfer-Encoding:\tchunked') + '5\r\nhello\r\n0\r\n\r\n', status: 200, accepted: { url: '/public/p', body: 'hello' } },
  { name: 'TE value with extra spaces (valid OWS)', bytes: post('Transfer-Encoding:   chunked  ') + '5\r\nhello\r\n0\r\n\r\n', status: 200, accepted: { url: '/public/p', body: 'hello' } },
  { name: 'TE on HTTP/1.0', bytes: head('POST /public/p HTTP/1.0', `Host: ${HOST}`, 'Transfer-Encoding: chunked') + '5\r\nhello\r\n0\r\n\r\n', status: 400 },
  // Content-Length values.
  { name: 'duplicate Content-Length, same value', bytes: post('Content-Length: 5', 'Content-Length: 5') + 'hello', status: 400 },
  { name: 'duplicate Content-Length, different values', bytes: post('Content-Length: 5', 'Content-Length: 40') + 'hello' + smuggled, status: 400 },
  { name: 'Content-Length list 5, 5', bytes: post('Content-Length: 5, 5') + 'hello', status: 400 },
  { name: 'Content-Length with a plus sign', bytes: post('Content-Length: +5') + 'hello', status: 400 },
  { name: 'Content-Length negative', bytes: post('Content-Length: -5') + 'hello', status: 400 },
  { name: 'Content-Length in hex', bytes: post('Content-Length: 0x5') + 'hello', status: 400 },
  { name: 'Content-Length with an inner space', bytes: post('Content-Length: 1 5') + 'hello', status: 400 },
  { name: 'Content-Length overflowing 64 bits', bytes: post('Content-Length: 99999999999999999999999') + 'hello', status: 400 },
  { name: 'Content-Length with leading OWS (valid)', bytes: post('Content-Length:    5') + 'hello', status: 200, accepted: { url: '/public/p', body: 'hello' } },
  // Line folding and line endings.
  { name: 'obs-fold in an ordinary header', bytes: get('/public/a', 'X-A: one', ' two'), status: 400 },
  { name: 'bare LF line endings', bytes: `GET /public/a HTTP/1.1\nHost: ${HOST}\nX-Case: __\n\n`, status: 400 },
  { name: 'bare LF ending the head', bytes: `GET /public/a HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: __\n\n`, status: 400 },
  { name: 'bare CR line endings', bytes: `GET /public/a HTTP/1.1\rHost: ${HOST}\rX-Case: __\r\r`, status: 400 },
  { name: 'bare CR inside a header value', bytes: get('/public/a', 'X-A: a\rb'), status: 400 },
  { name: 'LF inside the request line', bytes: `GET /public/a\n HTTP/1.1\r\nHost: ${HOST}\r\nX-Case: __\r\n\r\n`, status: 400 },
  // Chunked body framing (the head is valid; the body is not).
  { name: 'chunk size overflowing 64 bits', bytes: post('Transfer-Encoding: chunked') + 'ffffffffffffffffff\r\nhello\r\n0\r\n\r\n', status: 400, bodyError: true },
  { name: 'chunk size not hex', bytes: post('Transfer-Encoding: chunked') + 'zz\r\nhello\r\n0\r\n\r\n', status: 400, bodyError: true },
  { name: 'chunk size negative', bytes: post('Transfer-Encoding: chunked') + '-5\r\nhello\r\n0\r\n\r\n', status: 400, bodyError: true },
  { name: 'chunk size with a leading space', bytes: post('Transfer-Encoding: chunked') + ' 5\r\nhello\r\n0\r\n\r\n', status: 400, bodyError: true },
  { name: 'chunk longer than its size', bytes: post('Transfer-Encoding: chunked') + '5\r\nhelloEXTRA\r\n0\r\n\r\n', status: 400, bodyError: true },
  { name: 'chunk extension ended by a bare LF', bytes: post('Transfer-Encoding: chunked') + '5;a=b\nhello\r\n0\r\n\r\n', status: 400, bodyError: true },
  { name: 'chunk extensions beyond 16 KiB', bytes: post('Transfer-Encoding: chunked') + `5;${'a'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`, status: 413, bodyError: true },
  { name: 'chunk extension (valid)', bytes: post('Transfer-Encoding: chunked') + '5;name=value\r\nhello\r\n0\r\n\r\n', status: 200, accepted: { url: '/public/p', body: 'hello' } },
  // Control characters.
  { name: 'NUL in a header name', bytes: get('/public/a', 'X-\0A: b'), status: 400 },
  { name: 'NUL in a header value', bytes: get('/public/a', 'X-A: b\0c'), status: 400 },
  { name: 'SOH in a header value', bytes: get('/public/a', 'X-A: b\x01c'), status: 400 },
  { name: 'DEL in a header name', bytes: get('/public/a', 'X-\x7fA: b'), status: 400 },
  { name: 'space inside a header name', bytes: get('/public/a', 'X A: b'), status: 400 },
  { name: 'empty header name', bytes: get('/public/a', ': b'), status: 400 },
  { name: 'NUL in the request target', bytes: get('/public/a\0b'), status: 400 },
  // Sizes and counts.
  { name: 'request line of 20 KiB', bytes: get(`/public/${'a'.repeat(20_480)}`), status: 431 },
  { name: 'one header of 17 KiB', bytes: get('/public/a', `X-Big: ${'b'.repeat(17_408)}`), status: 431 },
  { name: '101 header lines (limit 100)', bytes: get('/public/a', ...Array.from({ length: 99 }, (_, i) => `X-H${i}: v`)), status: 431 },
  { name: '2,100 header lines', bytes: get('/public/a', ...Array.from({ length: 2100 }, (_, i) => `H${i}: v`)), status: 431 },
  // Methods and versions.
  { name: 'lowercase method', bytes: head('get /public/a HTTP/1.1', `Host: ${HOST}`), status: 400 },
  { name: 'unknown method', bytes: head('FOO /public/a HTTP/1.1', `Host: ${HOST}`), status: 400 },
  { name: 'method with a symbol', bytes: head('G@T /public/a HTTP/1.1', `Host: ${HOST}`), status: 400 },
  { name: 'CONNECT', bytes: head('CONNECT public.example:443 HTTP/1.1', `Host: ${HOST}`), status: 'close' },
  { name: 'HTTP/2.0 in an HTTP/1 request line', bytes: head('GET /public/a HTTP/2.0', `Host: ${HOST}`), status: 505 },
  { name: 'HTTP/1.2', bytes: head('GET /public/a HTTP/1.2', `Host: ${HOST}`), status: 400 },
  { name: 'HTTP/11', bytes: head('GET /public/a HTTP/11', `Host: ${HOST}`), status: 400 },
  { name: 'lowercase http/1.1', bytes: head('GET /public/a http/1.1', `Host: ${HOST}`), status: 400 },
  { name: 'HTTP/0.9 request line', bytes: 'GET /public/a\r\n\r\n', status: 505 },
  // Request targets and Host.
  { name: 'GET *', bytes: get('*'), status: 400 },
  { name: 'OPTIONS * (valid, no router matches)', bytes: head('OPTIONS * HTTP/1.1', `Host: ${HOST}`), status: 404 },
  { name: 'absolute-form with another authority', bytes: get('http://internal.localhost/public/a'), status: 400 },
  { name: 'absolute-form, same authority (valid)', bytes: get(`http://${HOST}/public/abs`), status: 200, accepted: { url: '/public/abs' } },
  { name: 'absolute-form with another scheme', bytes: get(`ftp://${HOST}/public/a`), status: 400 },
  { name: 'authority-form on GET', bytes: get(`${HOST}:80`), status: 400 },
  { name: 'duplicate Host', bytes: head('GET /public/a HTTP/1.1', `Host: ${HOST}`, 'Host: internal.localhost'), status: 400 },
  { name: 'duplicate Host, different case', bytes: head('GET /public/a HTTP/1.1', `host: ${HOST}`, 'HOST: internal.localhost'), status: 400 },
  { name: 'missing Host on HTTP/1.1', bytes: head('GET /public/a HTTP/1.1'), status: 400 },
  { name: 'Host with userinfo', bytes: head('GET /public/a HTTP/1.1', `Host: evil@${HOST}`), status: 400 },
  { name: 'Host with a path', bytes: head('GET /public/a HTTP/1.1', `Host: ${HOST}/admin`), status: 400 },
  { name: 'Host with a bad port', bytes: head('GET /public/a HTTP/1.1', `Host: ${HOST}:8x`), status: 400 },
  {
    name: 'Host in trailers (never forwarded)',
    bytes: post('Transfer-Encoding: chunked') + `5\r\nhello\r\n0\r\nHost: internal.localhost\r\n\r\n`,
    status: 200,
    accepted: { url: '/public/p', body: 'hello', headers: { host: HOST } },
  },
  {
    name: 'Upgrade: h2c (served as HTTP/1.1)',
    bytes: get('/public/h2c', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'),
    status: 200,
    accepted: { url: '/public/h2c', absent: ['upgrade', 'http2-settings'] },
  },
  {
    name: 'WebSocket upgrade the backend refuses, then a smuggled request',
    bytes: get('/public/ws', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==') + smuggled,
    status: 200,
    accepted: { url: '/public/ws' },
  },
  {
    name: 'underscore header names (dropped)',
    bytes: get('/public/u', 'X_Forwarded_For: 6.6.6.6', 'X_Auth_User: admin', 'X-Ok: yes'),
    status: 200,
    accepted: { url: '/public/u', absent: ['x_forwarded_for', 'x_auth_user'], headers: { 'x-ok': 'yes' } },
  },
  // Path matcher bypass attempts against PathPrefix(`/public`).
  { name: 'dot-segments out of /public', bytes: get('/public/../admin'), status: 404 },
  { name: '%2e%2e out of /public', bytes: get('/public/%2e%2e/admin'), status: 404 },
  { name: '%2E%2E twice', bytes: get('/public/%2E%2E/%2E%2E/etc/passwd'), status: 404 },
  { name: 'mixed .%2e', bytes: get('/public/.%2e/admin'), status: 404 },
  { name: 'empty segment then ..', bytes: get('/public//../admin'), status: 404 },
  { name: 'encoded slash ..%2f', bytes: get('/public/..%2fadmin'), status: 400 },
  { name: 'encoded slashes %2f..%2f', bytes: get('/public%2f..%2fadmin'), status: 400 },
  { name: 'encoded backslash', bytes: get('/public/..%5cadmin'), status: 400 },
  { name: 'raw backslash', bytes: get('/public/..\\admin'), status: 400 },
  { name: 'double-encoded dots %252e', bytes: get('/public/%252e%252e/admin'), status: 400 },
  { name: 'encoded NUL', bytes: get('/public/a%00.txt'), status: 400 },
  { name: 'leading // (normalised)', bytes: get('//public/x'), status: 200, accepted: { url: '/public/x' } },
  { name: 'inner // (normalised)', bytes: get('/public//x'), status: 200, accepted: { url: '/public/x' } },
  { name: 'dot-segments staying inside /public (normalised)', bytes: get('/public/a/../b/./c'), status: 200, accepted: { url: '/public/b/c' } },
  { name: 'encoded unreserved %61 (decoded)', bytes: get('/public/%61%7e'), status: 200, accepted: { url: '/public/a~' } },
];

/** Inserts `X-Case: <n>` after the request line, or fills the `__` placeholder of hand-written cases. */
function tagged(c: Case, n: number): string {
  if (c.bytes.includes('X-Case: __')) return c.bytes.replace('X-Case: __', `X-Case: ${n}`);
  const eol = c.bytes.indexOf('\r\n');
  return eol < 0 ? c.bytes : `${c.bytes.slice(0, eol)}\r\nX-Case: ${n}${c.bytes.slice(eol)}`;
}

t.test(`${cases.length} hostile requests: expected status, connection closed, backend untouched`, async (t) => {
  const backend = await startCountingBackend();
  const gw = await startTestGateway({
    http: {
      routers: { pub: { rule: 'PathPrefix(`/public`)', service: 'pub' } },
      services: { pub: { loadBalancer: { servers: [{ url: backend.url }] } } },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await backend.close();
  });
  const of = (n: number): SeenRequest[] => backend.seen.filter((s) => s.headers['x-case'] === String(n));
  for (const [n, c] of cases.entries()) {
    const reply = await sendRaw(gw.port, tagged(c, n));
    const got = reply.statuses.length ? reply.statuses.join(',') : reply.closed ? 'close' : 'open';
    t.equal(got, String(c.status), `${c.name}: ${c.status} (got ${got})`);
    if (c.accepted) {
      const seen = of(n);
      t.equal(seen.length, 1, `${c.name}: the backend got one request`);
      const s = seen[0];
      if (!s) continue;
      t.equal(s.url, c.accepted.url, `${c.name}: backend path`);
      if (c.accepted.body !== undefined) t.equal(s.body, c.accepted.body, `${c.name}: backend body`);
      for (const h of c.accepted.absent ?? []) t.equal(s.headers[h], undefined, `${c.name}: backend never sees ${h}`);
      for (const [h, v] of Object.entries(c.accepted.headers ?? {})) t.equal(s.headers[h], v, `${c.name}: backend ${h}`);
      t.same(s.trailers, {}, `${c.name}: no trailers forwarded`);
    } else if (c.status !== 404) {
      // A route miss is an ordinary answer; every rejection ends the connection.
      t.ok(reply.closed, `${c.name}: connection closed`);
    }
  }
  // Let anything forwarded by mistake arrive before judging absence.
  await new Promise((r) => setTimeout(r, 500));
  for (const [n, c] of cases.entries()) {
    if (c.accepted) continue;
    const seen = of(n);
    if (c.bodyError) t.equal(seen.filter((s) => s.complete).length, 0, `${c.name}: no complete request reached the backend`);
    else t.equal(seen.length, 0, `${c.name}: nothing reached the backend`);
  }
  t.equal(backend.seen.filter((s) => s.headers['x-case'] === undefined).length, 0, 'no untagged (smuggled) request reached the backend');
  t.notOk(backend.seen.some((s) => !s.url.startsWith('/public/')), 'the backend never saw a path outside /public/');
});
