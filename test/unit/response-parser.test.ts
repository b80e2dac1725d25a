import t, { type Test } from 'tap';
import { PortierError } from '../../src/errors';
import { MAX_HEAD_BYTES, ResponseParser, type ResponseSink } from '../../src/proxy/response-parser';

/** One response as the sink saw it; `reusable: null` means onComplete has not been called (yet). */
interface Resp {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reusable: boolean | null;
}

/** Expected response: `headers` is a subset (a key mapped to undefined must be absent) unless `exact`. */
interface ExpResp extends Resp {
  exact?: boolean;
}

interface Case {
  name: string;
  /** Response bytes, latin1; a list is separate reads, never joined (Portier sends one request at a time). */
  raw: string | string[];
  /**
   * Bytes that follow the last response, answering no request: refused when
   * fed in a read of their own, and in the last response's read too, where
   * that response is reported not reusable and the bytes are refused even
   * though the next response was started from its onComplete.
   */
  extra?: string;
  /** The request was a HEAD. */
  headRequest?: boolean;
  /** Call eof() after the last byte. */
  eof?: boolean;
  /** start() again from onComplete this many times (a reused connection; pipelined bytes). */
  restart?: number;
  /** One response, the responses in order (none: nothing final yet), or the error thrown by execute()/eof(). */
  expect: ExpResp | ExpResp[] | { error: RegExp };
}

interface Outcome {
  responses: Resp[];
  error: string | null;
  idle: boolean;
  /** Sink-protocol and `received` violations. */
  problems: string[];
}

const HI = 'HTTP/1.1 200 OK\r\n';
const ok = (body: string, headers: Resp['headers'] = {}, reusable: boolean | null = true, extra: Partial<ExpResp> = {}): ExpResp => ({
  status: 200,
  reason: 'OK',
  headers,
  body,
  reusable,
  ...extra,
});
const chunked = (body: string) => `${HI}Transfer-Encoding: chunked\r\n\r\n${body}`;

// A head of exactly `size` bytes, terminator included.
const headOf = (size: number, tail = ''): string => {
  const start = `${HI}Content-Length: 0\r\n`;
  const lines: string[] = [];
  let left = size - start.length - 2; // final CRLF
  for (let n = 0; left > 0; n++) {
    const prefix = `X-Pad-${n}: `;
    const len = Math.min(left, 4000);
    if (len < prefix.length + 3) {
      lines[lines.length - 1] = lines[lines.length - 1].replace('\r\n', 'a'.repeat(len) + '\r\n');
      break;
    }
    lines.push(prefix + 'a'.repeat(len - prefix.length - 2) + '\r\n');
    left -= len;
  }
  const head = start + lines.join('') + '\r\n';
  if (head.length !== size) throw new Error(`headOf: ${head.length} != ${size}`);
  return head + tail;
};

const cases: Case[] = [
  // Content-Length framing
  {
    name: 'content-length body',
    raw: `${HI}Content-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello`,
    extra: `${HI}Content-Length: 0\r\n\r\n`,
    expect: ok('hello', { 'content-length': '5', 'content-type': 'text/plain' }, true, { exact: true }),
  },
  { name: 'content-length 0', raw: `${HI}Content-Length: 0\r\n\r\n`, extra: 'X', expect: ok('', { 'content-length': '0' }, true, { exact: true }) },
  {
    name: 'content-length body with CRLFCRLF, LFLF, NUL and latin1 bytes',
    raw: `${HI}Content-Length: 9\r\n\r\n\r\n\r\n\n\n\0\xff\xe9`,
    expect: ok('\r\n\r\n\n\n\0\xff\xe9'),
  },
  { name: 'content-length with leading zeros', raw: `${HI}Content-Length: 005\r\n\r\nhello`, expect: ok('hello', { 'content-length': '005' }) },
  { name: 'content-length with OWS', raw: `${HI}Content-Length: \t 2 \t\r\n\r\nhi`, expect: ok('hi', { 'content-length': '2' }) },
  {
    name: 'equal duplicate content-length',
    raw: `${HI}Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi`,
    expect: ok('hi', { 'content-length': '2' }, true, { exact: true }),
  },
  { name: 'conflicting content-length', raw: `${HI}Content-Length: 2\r\nContent-Length: 3\r\n\r\nhi!`, expect: { error: /conflicting content-length/ } },
  { name: 'content-length non-numeric', raw: `${HI}Content-Length: abc\r\n\r\n`, expect: { error: /content-length "abc"/ } },
  { name: 'content-length negative', raw: `${HI}Content-Length: -1\r\n\r\n`, expect: { error: /content-length "-1"/ } },
  { name: 'content-length plus sign', raw: `${HI}Content-Length: +2\r\n\r\nhi`, expect: { error: /content-length/ } },
  { name: 'content-length fraction', raw: `${HI}Content-Length: 1.5\r\n\r\nhi`, expect: { error: /content-length/ } },
  { name: 'content-length list', raw: `${HI}Content-Length: 2, 2\r\n\r\nhi`, expect: { error: /content-length "2, 2"/ } },
  { name: 'content-length empty', raw: `${HI}Content-Length:\r\n\r\n`, expect: { error: /content-length ""/ } },
  { name: 'content-length 16 digits', raw: `${HI}Content-Length: 1000000000000000\r\n\r\n`, expect: { error: /content-length/ } },
  { name: 'eof mid content-length body', raw: `${HI}Content-Length: 5\r\n\r\nhel`, eof: true, expect: { error: /connection closed mid-body/ } },
  {
    name: 'content-length body not yet complete (no eof)',
    raw: `${HI}Content-Length: 5\r\n\r\nhel`,
    expect: ok('hel', { 'content-length': '5' }, null),
  },
  // chunked framing
  {
    name: 'chunked, several chunks',
    raw: chunked('5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n'),
    extra: `${HI}Content-Length: 0\r\n\r\n`,
    expect: ok('hello world', { 'transfer-encoding': undefined }, true, { exact: true }),
  },
  { name: 'chunked, single empty body', raw: chunked('0\r\n\r\n'), expect: ok('', { 'transfer-encoding': undefined }) },
  {
    name: 'chunk extensions',
    raw: chunked('5;ext=1\r\nhello\r\n6 ; a="b;c"\r\n world\r\n1\t;x\r\n!\r\n0;last=yes\r\n\r\n'),
    expect: ok('hello world!'),
  },
  {
    name: 'uppercase, lowercase and zero-padded hex sizes',
    raw: chunked(`A\r\n0123456789\r\n1F\r\n${'x'.repeat(31)}\r\n1f\r\n${'y'.repeat(31)}\r\n000000000000002\r\nzz\r\n0\r\n\r\n`),
    expect: ok(`0123456789${'x'.repeat(31)}${'y'.repeat(31)}zz`),
  },
  {
    name: 'chunk data containing CRLF and size-like text',
    raw: chunked('7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n'),
    expect: ok('\r\n0\r\n\r\n'),
  },
  {
    name: 'trailers are skipped, not in body or headers',
    raw: chunked('3\r\nabc\r\n0\r\nX-Checksum: 123\r\nExpires: never\r\n\r\n'),
    extra: 'X',
    expect: ok('abc', { 'transfer-encoding': undefined, 'x-checksum': undefined, expires: undefined }, true, { exact: true }),
  },
  // Line ends in chunk framing are CRLF, as in the head.
  { name: 'bare LF ending a chunk size', raw: chunked('5\nhello\r\n0\r\n\r\n'), expect: { error: /bare LF line end in chunk framing/ } },
  { name: 'bare LF ending chunk data', raw: chunked('5\r\nhello\n0\r\n\r\n'), expect: { error: /bare LF line end in chunk framing/ } },
  { name: 'bare LF ending a trailer', raw: chunked('5\r\nhello\r\n0\r\nX-T: 1\n\r\n'), expect: { error: /bare LF line end in chunk framing/ } },
  { name: 'bare LF ending the chunked body', raw: chunked('5\r\nhello\r\n0\r\n\n'), expect: { error: /bare LF line end in chunk framing/ } },
  { name: 'chunked is case-insensitive', raw: `${HI}Transfer-Encoding: Chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, expect: ok('hi') },
  // Only chunked is decoded; any other transfer-coding would reach the client as an undeclared, still-coded body.
  { name: 'transfer-encoding gzip, chunked', raw: `${HI}Transfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, expect: { error: /unsupported transfer-encoding "gzip, chunked"/ } },
  { name: 'repeated transfer-encoding', raw: `${HI}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, expect: { error: /unsupported transfer-encoding "gzip, chunked"/ } },
  { name: 'transfer-encoding chunked, gzip', raw: `${HI}Transfer-Encoding: chunked, gzip\r\n\r\n2\r\nhi\r\n0\r\n\r\n`, expect: { error: /unsupported transfer-encoding "chunked, gzip"/ } },
  { name: 'transfer-encoding gzip alone', raw: `${HI}Transfer-Encoding: gzip\r\n\r\n\x1f\x8b`, expect: { error: /unsupported transfer-encoding "gzip"/ } },
  { name: 'transfer-encoding identity', raw: `${HI}Transfer-Encoding: identity\r\n\r\nhi`, expect: { error: /unsupported transfer-encoding "identity"/ } },
  // Two framings: whichever a parser picks, another may pick the other.
  {
    name: 'content-length with transfer-encoding',
    raw: `${HI}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    expect: { error: /both transfer-encoding and content-length/ },
  },
  {
    name: 'transfer-encoding before content-length',
    raw: `${HI}Transfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n2\r\nhi\r\n0\r\n\r\n`,
    expect: { error: /both transfer-encoding and content-length/ },
  },
  { name: 'content-length 0 with transfer-encoding', raw: `${HI}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, expect: { error: /both transfer-encoding and content-length/ } },
  {
    name: 'both on a 304, where no body follows',
    raw: 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n',
    expect: { error: /both transfer-encoding and content-length/ },
  },
  { name: 'chunk size zz', raw: chunked('zz\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk size "zz"/ } },
  { name: 'chunk size empty', raw: chunked('\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk size ""/ } },
  { name: 'chunk size 16 hex digits', raw: chunked('0000000000000005\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk size/ } },
  { name: 'chunk size with 0x', raw: chunked('0x5\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk size/ } },
  { name: 'chunk size negative', raw: chunked('-5\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk size/ } },
  { name: 'chunk size with leading space', raw: chunked(' 5\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk size/ } },
  { name: 'chunk data longer than its size', raw: chunked('3\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk data longer than its size/ } },
  { name: 'chunk data without its CRLF', raw: chunked('5\r\nhello0\r\n\r\n'), expect: { error: /chunk data longer than its size/ } },
  { name: 'chunk data shorter than its size', raw: chunked('7\r\nhello\r\n0\r\n\r\n'), expect: { error: /chunk data longer than its size/ } },
  {
    name: 'chunk framing line too long',
    raw: chunked(`1;${'x'.repeat(4100)}\r\na\r\n0\r\n\r\n`),
    expect: { error: /chunk framing line too long/ },
  },
  {
    name: 'chunk framing line of 4096 bytes, its CR included',
    raw: chunked(`1;${'x'.repeat(4093)}\r\na\r\n0\r\n\r\n`),
    expect: ok('a'),
  },
  {
    name: 'trailers too large',
    raw: chunked(`0\r\n${`X-T: ${'t'.repeat(4000)}\r\n`.repeat(17)}\r\n`),
    expect: { error: /trailers too large/ },
  },
  { name: 'eof mid chunk data', raw: chunked('5\r\nhel'), eof: true, expect: { error: /connection closed mid-body/ } },
  { name: 'eof mid chunk size', raw: chunked('5\r\nhello\r\n'), eof: true, expect: { error: /connection closed mid-body/ } },
  { name: 'eof mid trailers', raw: chunked('5\r\nhello\r\n0\r\nX-T: 1\r\n'), eof: true, expect: { error: /connection closed mid-body/ } },
  { name: 'eof after last chunk, before final CRLF', raw: chunked('0\r\n'), eof: true, expect: { error: /connection closed mid-body/ } },
  // close-delimited
  {
    name: 'close-delimited body',
    raw: `${HI}Content-Type: text/plain\r\n\r\nuntil\r\n\r\nclose`,
    eof: true,
    expect: ok('until\r\n\r\nclose', { 'content-type': 'text/plain' }, false, { exact: true }),
  },
  { name: 'close-delimited empty body', raw: `${HI}\r\n`, eof: true, expect: ok('', {}, false, { exact: true }) },
  { name: 'close-delimited body before eof', raw: `${HI}\r\nsome`, expect: ok('some', {}, null) },
  // persistence
  { name: 'HTTP/1.0 with content-length', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi', expect: ok('hi', {}, false) },
  {
    name: 'HTTP/1.0 with keep-alive still not reused',
    raw: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi',
    expect: ok('hi', { connection: 'keep-alive' }, false),
  },
  { name: 'HTTP/1.0 close-delimited', raw: 'HTTP/1.0 200 OK\r\n\r\nbody', eof: true, expect: ok('body', {}, false) },
  { name: 'connection: close', raw: `${HI}Connection: close\r\nContent-Length: 2\r\n\r\nhi`, extra: 'X', expect: ok('hi', { connection: 'close' }, false) },
  {
    name: 'connection: keep-alive, close',
    raw: `${HI}Connection: keep-alive, close\r\nContent-Length: 2\r\n\r\nhi`,
    expect: ok('hi', { connection: 'keep-alive, close' }, false),
  },
  { name: 'connection: CLOSE', raw: `${HI}Connection: CLOSE\r\nContent-Length: 0\r\n\r\n`, expect: ok('', {}, false) },
  { name: 'connection: close,upgrade', raw: `${HI}Connection: close,upgrade\r\nContent-Length: 0\r\n\r\n`, expect: ok('', {}, false) },
  {
    name: 'connection repeated: keep-alive then close',
    raw: `${HI}Connection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    expect: ok('', { connection: 'keep-alive, close' }, false),
  },
  { name: 'connection: keep-alive', raw: `${HI}Connection: keep-alive\r\nContent-Length: 0\r\n\r\n`, expect: ok('', {}, true) },
  { name: 'connection: closed is not close', raw: `${HI}Connection: closed\r\nContent-Length: 0\r\n\r\n`, expect: ok('', {}, true) },
  { name: 'connection: x-close is not close', raw: `${HI}Connection: x-close\r\nContent-Length: 0\r\n\r\n`, expect: ok('', {}, true) },
  // responses without a body
  {
    name: '204 ignores content-length',
    raw: 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n',
    // Body bytes after a 204 are not its body.
    extra: 'hello',
    expect: { status: 204, reason: 'No Content', headers: { 'content-length': '5' }, body: '', reusable: true },
  },
  {
    name: '304 ignores content-length',
    raw: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: "x"\r\n\r\n',
    extra: `${HI}Content-Length: 0\r\n\r\n`,
    expect: { status: 304, reason: 'Not Modified', headers: { etag: '"x"' }, body: '', reusable: true },
  },
  {
    name: '304 with chunked',
    raw: 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n',
    expect: { status: 304, reason: 'Not Modified', headers: {}, body: '', reusable: true },
  },
  { name: '204 without framing is not close-delimited', raw: 'HTTP/1.1 204 \r\n\r\n', expect: { status: 204, reason: '', headers: {}, body: '', reusable: true } },
  { name: 'HEAD with content-length', raw: `${HI}Content-Length: 1234\r\n\r\n`, headRequest: true, extra: 'hi', expect: ok('', { 'content-length': '1234' }) },
  { name: 'HEAD with chunked', raw: `${HI}Transfer-Encoding: chunked\r\n\r\n`, headRequest: true, expect: ok('', {}) },
  { name: 'HEAD without framing', raw: `${HI}Content-Type: text/html\r\n\r\n`, headRequest: true, expect: ok('', {}, true) },
  { name: 'HEAD with connection: close', raw: `${HI}Connection: close\r\nContent-Length: 9\r\n\r\n`, headRequest: true, expect: ok('', {}, false) },
  // interim responses
  {
    name: '100 Continue before the final response',
    raw: `HTTP/1.1 100 Continue\r\n\r\n${HI}Content-Length: 2\r\n\r\nhi`,
    extra: `${HI}Content-Length: 0\r\n\r\n`,
    expect: ok('hi', { 'content-length': '2' }, true, { exact: true }),
  },
  {
    name: '103 Early Hints before the final response',
    raw: `HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLink: </b.js>; rel=preload\r\n\r\n${HI}Content-Length: 2\r\n\r\nhi`,
    expect: ok('hi', { 'content-length': '2' }, true, { exact: true }),
  },
  {
    name: 'several interim responses, interim framing headers ignored',
    raw: `HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 103 Early Hints\r\nConnection: close\r\n\r\n${chunked('2\r\nhi\r\n0\r\n\r\n')}`,
    expect: ok('hi', { 'transfer-encoding': undefined, connection: undefined }, true, { exact: true }),
  },
  { name: 'interim response with bare-LF line ends', raw: `HTTP/1.1 100 Continue\n\n${HI}Content-Length: 2\r\n\r\nhi`, expect: { error: /bare LF line end in the response head/ } },
  { name: 'interim response only', raw: 'HTTP/1.1 100 Continue\r\n\r\n', expect: [] },
  { name: 'interim response then eof', raw: 'HTTP/1.1 100 Continue\r\n\r\n', eof: true, expect: { error: /before a complete response head/ } },
  { name: '100 Continue to a HEAD request', raw: `HTTP/1.1 100 Continue\r\n\r\n${HI}Content-Length: 2\r\n\r\n`, headRequest: true, expect: ok('') },
  { name: '101 Switching Protocols', raw: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n', expect: { error: /101 Switching Protocols/ } },
  // header fields
  {
    name: 'set-cookie repeated is an array',
    raw: `${HI}Set-Cookie: a=1\r\nContent-Length: 0\r\nset-cookie: b=2; Path=/\r\nSET-COOKIE:c=3\r\n\r\n`,
    expect: ok('', { 'set-cookie': ['a=1', 'b=2; Path=/', 'c=3'] }),
  },
  { name: 'single set-cookie is an array', raw: `${HI}Set-Cookie: a=1\r\nContent-Length: 0\r\n\r\n`, expect: ok('', { 'set-cookie': ['a=1'] }) },
  {
    name: 'other repeated headers joined with ", "',
    raw: `${HI}Vary: Accept\r\nX-A: 1\r\nvary: Origin\r\nx-a: 2\r\nX-A: \r\nContent-Length: 0\r\n\r\n`,
    expect: ok('', { vary: 'Accept, Origin', 'x-a': '1, 2, ' }),
  },
  {
    name: 'names lower-cased, values trimmed',
    raw: `${HI}X-MiXeD-CaSe:   value with  inner\t spaces \t \r\nX-Empty:\r\nX-Blank:  \t \r\nLocation: http://x:81/a:b\r\nX-Latin: caf\xe9\r\nContent-Length: 0\r\n\r\n`,
    expect: ok(
      '',
      {
        'x-mixed-case': 'value with  inner\t spaces',
        'x-empty': '',
        'x-blank': '',
        location: 'http://x:81/a:b',
        'x-latin': 'caf\xe9',
        'content-length': '0',
      },
      true,
      { exact: true },
    ),
  },
  { name: 'token characters in a name', raw: `${HI}X-!#$%&'*+.^_\`|~9: v\r\nContent-Length: 0\r\n\r\n`, expect: ok('', { "x-!#$%&'*+.^_`|~9": 'v' }) },
  {
    name: 'header named like an Object.prototype member',
    raw: `${HI}Constructor: x\r\nToString: y\r\nContent-Length: 0\r\n\r\n`,
    expect: ok('', { constructor: 'x', tostring: 'y', 'content-length': '0' }, true, { exact: true }),
  },
  {
    name: 'header named __proto__',
    raw: `${HI}__proto__: x\r\nContent-Length: 0\r\n\r\n`,
    expect: ok('', { ['__proto__']: 'x', 'content-length': '0' }, true, { exact: true }),
  },
  { name: 'obs-fold with space', raw: `${HI}X-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n`, expect: { error: /obsolete line folding in header line 2/ } },
  { name: 'obs-fold with tab', raw: `${HI}X-A: 1\r\n\tcontinued\r\nContent-Length: 0\r\n\r\n`, expect: { error: /obsolete line folding/ } },
  { name: 'header without colon', raw: `${HI}X-A 1\r\nContent-Length: 0\r\n\r\n`, expect: { error: /header line 1 is not "name: value"/ } },
  { name: 'header with empty name', raw: `${HI}: v\r\n\r\n`, expect: { error: /header line 1 is not "name: value"/ } },
  { name: 'space before colon', raw: `${HI}Content-Length : 5\r\n\r\nhello`, expect: { error: /header line 1 is not "name: value"/ } },
  { name: 'non-token character in name', raw: `${HI}X(A): v\r\n\r\n`, expect: { error: /is not "name: value"/ } },
  { name: 'control character in value', raw: `${HI}X-A: a\x01b\r\nContent-Length: 0\r\n\r\n`, expect: { error: /control character in header "x-a"/ } },
  { name: 'NUL in value', raw: `${HI}X-A: a\0b\r\n\r\n`, expect: { error: /control character in header "x-a"/ } },
  { name: 'DEL in value', raw: `${HI}X-A: a\x7f\r\n\r\n`, expect: { error: /control character in header "x-a"/ } },
  { name: 'bare CR inside a value', raw: `${HI}X-A: a\rb\r\n\r\n`, expect: { error: /control character in header "x-a"/ } },
  { name: 'tab inside a value is fine', raw: `${HI}X-A: a\tb\r\nContent-Length: 0\r\n\r\n`, expect: ok('', { 'x-a': 'a\tb' }) },
  {
    name: 'control character at the end of a value',
    raw: `${HI}X-A: v\x0b\r\nContent-Length: 0\r\n\r\n`,
    expect: { error: /control character in header "x-a"/ },
  },
  {
    name: 'bare CR at the end of content-length',
    raw: `${HI}Content-Length: 2\r\r\n\r\nhi`,
    expect: { error: /control character in header "content-length"/ },
  },
  // status line
  { name: 'reason phrase with spaces', raw: 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', expect: { status: 404, reason: 'Not Found', headers: {}, body: '', reusable: true } },
  {
    name: 'reason phrase kept as sent',
    raw: 'HTTP/1.1 599  Odd\t\xe9 \r\nContent-Length: 0\r\n\r\n',
    expect: { status: 599, reason: ' Odd\t\xe9 ', headers: {}, body: '', reusable: true },
  },
  { name: 'empty reason after a space', raw: 'HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nhi', expect: ok('hi', {}, true, { reason: '' }) },
  { name: 'no reason, no space', raw: 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nhi', expect: ok('hi', {}, true, { reason: '' }) },
  // Line ends are CRLF: nginx and Go accept a bare LF from upstreams, but a parser that does not reads another head.
  { name: 'bare-LF line ends', raw: 'HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nhi', expect: { error: /bare LF line end in the response head/ } },
  { name: 'bare LF ending the status line only', raw: 'HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nhi', expect: { error: /bare LF line end in the response head/ } },
  { name: 'bare LF ending a field line', raw: `${HI}X-A: b\nContent-Length: 2\r\n\r\nhi`, expect: { error: /bare LF line end in the response head/ } },
  { name: 'bare LF ending the last field line', raw: `${HI}Content-Length: 2\n\r\nhi`, expect: { error: /bare LF line end in the response head/ } },
  { name: 'bare LF as the blank line', raw: `${HI}Content-Length: 2\r\n\nhi`, expect: { error: /bare LF line end in the response head/ } },
  { name: 'bare LF before any other byte', raw: `\n${HI}Content-Length: 0\r\n\r\n`, expect: { error: /bare LF line end in the response head/ } },
  { name: 'status line HTTP/2', raw: 'HTTP/2 200 OK\r\n\r\n', expect: { error: /status line "HTTP\/2 200 OK"/ } },
  { name: 'status line HTTP/1.2', raw: 'HTTP/1.2 200 OK\r\n\r\n', expect: { error: /status line/ } },
  { name: 'status line lower-case http', raw: 'http/1.1 200 OK\r\n\r\n', expect: { error: /status line/ } },
  { name: 'two-digit status', raw: 'HTTP/1.1 20 OK\r\n\r\n', expect: { error: /status line "HTTP\/1.1 20 OK"/ } },
  { name: 'four-digit status', raw: 'HTTP/1.1 2000 OK\r\n\r\n', expect: { error: /status line/ } },
  { name: 'status 099', raw: 'HTTP/1.1 099 X\r\n\r\n', expect: { error: /status line/ } },
  { name: 'status 000', raw: 'HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n', expect: { error: /status line "HTTP\/1.1 000 X"/ } },
  { name: 'status 600', raw: 'HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n', expect: { error: /status line "HTTP\/1.1 600 X"/ } },
  { name: 'status 999', raw: 'HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n', expect: { error: /status line "HTTP\/1.1 999 X"/ } },
  { name: 'no space after status', raw: 'HTTP/1.1 200OK\r\n\r\n', expect: { error: /status line/ } },
  { name: 'NUL in reason', raw: 'HTTP/1.1 200 O\0K\r\n\r\n', expect: { error: /status line/ } },
  { name: 'leading blank line', raw: '\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', expect: { error: /status line ""/ } },
  { name: 'garbage', raw: 'hello world\r\n\r\n', expect: { error: /status line "hello world"/ } },
  { name: 'garbage without line end, then eof', raw: 'SSH-2.0-OpenSSH_9.6', eof: true, expect: { error: /before a complete response head/ } },
  { name: 'eof mid-head', raw: `${HI}Content-Length: 2\r\n`, eof: true, expect: { error: /connection closed before a complete response head/ } },
  { name: 'eof before any byte', raw: '', eof: true, expect: { error: /connection closed before a complete response head/ } },
  { name: 'head not complete yet', raw: `${HI}Content-Le`, expect: [] },
  // head size
  { name: 'head of exactly 64 KiB, content-length 0', raw: headOf(MAX_HEAD_BYTES), expect: ok('', { 'content-length': '0' }) },
  { name: 'head over 64 KiB', raw: headOf(MAX_HEAD_BYTES + 1), expect: { error: /head larger than 65536 bytes/ } },
  { name: 'head over 64 KiB, never ending', raw: `${HI}X-Big: ${'b'.repeat(MAX_HEAD_BYTES)}`, expect: { error: /head larger than 65536 bytes/ } },
  // more than one response on one connection, each in reads of its own
  {
    name: 'reused: start() again after onComplete',
    raw: [`${HI}Content-Length: 2\r\n\r\nhi`, chunked('3\r\nabc\r\n0\r\n\r\n'), 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'],
    restart: 2,
    expect: [ok('hi', { 'content-length': '2' }), ok('abc', { 'transfer-encoding': undefined }), { status: 404, reason: 'Not Found', headers: {}, body: '', reusable: true }],
  },
  {
    name: 'reused: second response close-delimited',
    raw: [`HTTP/1.1 100 Continue\r\n\r\n${HI}Content-Length: 1\r\n\r\n1`, 'HTTP/1.1 200 OK\r\n\r\nrest'],
    restart: 1,
    eof: true,
    expect: [ok('1'), ok('rest', {}, false)],
  },
  {
    name: 'reused: bytes beyond the restarted response',
    raw: [`${HI}Content-Length: 0\r\n\r\n`, `${HI}Content-Length: 0\r\n\r\n`],
    restart: 1,
    extra: 'X',
    expect: [ok(''), ok('')],
  },
];

/** `reuseAtOnce`: start() again from every onComplete, as if the connection's next request raced in. */
function run(c: Case, pieces: Buffer[], reuseAtOnce = false): Outcome {
  const p = new ResponseParser();
  const out: Outcome = { responses: [], error: null, idle: false, problems: [] };
  let starts = 0;
  const sink = (): ResponseSink => {
    let resp: Resp | null = null;
    let done = false;
    return {
      onHead(h) {
        if (resp || done) out.problems.push('onHead twice');
        // Only the first response: start() from onComplete resets `received` mid-buffer.
        if (starts === 1 && p.received <= 0) out.problems.push(`received ${p.received} at onHead`);
        // Connection is reported beside the fields; compared here as if it were one.
        const connection = h.connection ? { connection: h.connection } : {};
        resp = { status: h.status, reason: h.reason, headers: { ...Object.fromEntries(Object.entries(h.headers)), ...connection }, body: '', reusable: null };
        out.responses.push(resp);
      },
      onBody(chunk) {
        if (!resp || done) out.problems.push('onBody outside head..complete');
        if (!Buffer.isBuffer(chunk) || chunk.length === 0) out.problems.push('onBody with an empty or non-Buffer chunk');
        else if (resp) resp.body += chunk.toString('latin1');
      },
      onComplete(reusable) {
        if (!resp || done) out.problems.push('onComplete without head, or twice');
        done = true;
        if (resp) resp.reusable = reusable;
        if (!p.idle) out.problems.push('not idle in onComplete');
        if (starts <= (c.restart ?? 0) || reuseAtOnce) begin();
      },
    };
  };
  const begin = () => {
    starts++;
    p.start(sink(), c.headRequest ?? false);
    if (p.received !== 0) out.problems.push(`received ${p.received} after start()`);
    if (p.idle) out.problems.push('idle after start()');
  };
  begin();
  try {
    for (const [n, piece] of pieces.entries()) {
      const before = starts;
      p.execute(piece);
      if (n === 0 && starts === before && p.received <= 0) out.problems.push(`received ${p.received} after the first bytes`);
    }
    if (c.eof) p.eof();
  } catch (err) {
    if (!(err instanceof PortierError) || err.code !== 'UPSTREAM_INVALID' || err.status !== 502) {
      out.problems.push(`unexpected error ${String(err)}`);
    }
    out.error = (err as Error).message;
  }
  out.idle = p.idle;
  return out;
}

/** Structural equality of outcomes (JSON-like values; own keys in order). */
function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k, n) => k === kb[n] && equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function check(t: Test, c: Case, got: Outcome): void {
  t.same(got.problems, [], 'sink protocol respected');
  const exp = c.expect;
  if ('error' in exp) {
    t.match(got.error, exp.error, 'error');
    return;
  }
  t.equal(got.error, null, 'no error');
  const list = Array.isArray(exp) ? exp : [exp];
  t.equal(got.responses.length, list.length, 'responses');
  for (const [n, e] of list.entries()) {
    const r = got.responses[n];
    if (!r) continue;
    const at = list.length > 1 ? ` (response ${n + 1})` : '';
    t.equal(r.status, e.status, `status${at}`);
    t.equal(r.reason, e.reason, `reason${at}`);
    t.equal(r.body, e.body, `body${at}`);
    t.equal(r.reusable, e.reusable, `reusable${at}`);
    for (const [name, value] of Object.entries(e.headers)) {
      t.same(Object.getOwnPropertyDescriptor(r.headers, name)?.value, value, `header ${name}${at}`);
    }
    if (e.exact) {
      const names = Object.keys(e.headers).filter((k) => e.headers[k] !== undefined);
      t.same(Object.keys(r.headers).sort(), names.sort(), `exact header names${at}`);
    }
  }
  const last = list[list.length - 1];
  const finished = list.length === (c.restart ?? 0) + 1 && last !== undefined && last.reusable !== null;
  t.equal(got.idle, finished, 'idle');
}

const REFUSED = 'invalid upstream response: data received with no request outstanding';

for (const c of cases) {
  t.test(c.name, async (t) => {
    const reads = (typeof c.raw === 'string' ? [c.raw] : c.raw).map((r) => Buffer.from(r, 'latin1')).filter((r) => r.length > 0);
    const whole = run(c, reads);
    check(t, c, whole);

    const bytes: Buffer[] = [];
    for (const read of reads) for (let i = 0; i < read.length; i++) bytes.push(read.subarray(i, i + 1));
    const byByte = run(c, bytes);
    t.ok(equal(byByte, whole), 'fed one byte at a time: same outcome') || t.same(byByte, whole);

    let firstBad = '';
    let bad: Outcome | null = null;
    let badCount = 0;
    let cuts = 0;
    for (const [r, read] of reads.entries()) {
      for (let cut = 1; cut < read.length; cut++, cuts++) {
        const got = run(c, [...reads.slice(0, r), read.subarray(0, cut), read.subarray(cut), ...reads.slice(r + 1)]);
        if (!equal(got, whole)) {
          badCount++;
          if (!bad) [firstBad, bad] = [`${cut} of read ${r + 1}`, got];
        }
      }
    }
    if (bad) t.same(bad, whole, `split at ${firstBad} (of ${badCount} bad cuts): same outcome`);
    else t.pass(`split at each of ${cuts} cut points: same outcome`);

    if (c.extra === undefined) return;
    const extra = Buffer.from(c.extra, 'latin1');
    t.same(run(c, [...reads, extra]), { ...whole, error: REFUSED }, 'extra bytes in a read of their own: refused, the response stands');
    const last = whole.responses.length - 1;
    const joined = run(c, [...reads.slice(0, -1), Buffer.concat([reads[reads.length - 1], extra])], true);
    t.same(
      joined,
      { ...whole, responses: whole.responses.map((resp, n) => (n === last ? { ...resp, reusable: false } : resp)), error: REFUSED, idle: false },
      "extra bytes in the response's read: not reusable, refused though the next response was started",
    );
  });
}

t.test('mutated responses: the parser completes or throws its own 502 error, nothing else', async (t) => {
  // A fixed-seed generator: the same 3,000 mutations on every run, so a failure reproduces.
  let seed = 0x2f6b1e;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const seeds = [
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello`,
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n`,
    `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n`,
    `HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil close`,
  ].map((s) => Buffer.from(s, 'latin1'));
  const alphabet = Buffer.from('\r\n :;,0123456789abcdefABCDEF\t\0\x7f\x80\xffHTTP/1.Chunked-Length', 'latin1');
  const sink: ResponseSink = { onHead: () => undefined, onBody: () => undefined, onComplete: () => undefined };
  const foreign: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const buf = Buffer.from(seeds[rand(seeds.length)]);
    for (let m = 1 + rand(4); m > 0; m--) {
      const at = rand(buf.length);
      const op = rand(3);
      if (op === 0) buf[at] = alphabet[rand(alphabet.length)];
      else if (op === 1) buf.copyWithin(at, Math.min(buf.length - 1, at + 1));
      else buf[at] = rand(256);
    }
    const p = new ResponseParser();
    p.start(sink, rand(8) === 0);
    try {
      const cut = rand(buf.length);
      p.execute(buf.subarray(0, cut));
      p.execute(buf.subarray(cut));
      p.eof();
    } catch (err) {
      if (!(err instanceof PortierError && err.code === 'UPSTREAM_INVALID' && err.status === 502)) foreign.push(`${JSON.stringify(buf.toString('latin1'))}: ${String(err)}`);
    }
  }
  t.same(foreign.slice(0, 3), [], 'every failure is an UPSTREAM_INVALID 502');
});

t.test("Keep-Alive: the server's idle timeout, read from each response", async (t) => {
  const cases: { name: string; field?: string; ms: number }[] = [
    { name: "Node's", field: 'Keep-Alive: timeout=5', ms: 5000 },
    { name: 'with max', field: 'Keep-Alive: timeout=1, max=100', ms: 1000 },
    { name: 'max first, spaces', field: 'keep-alive: max=5,  timeout = 30', ms: 30000 },
    { name: 'no timeout', field: 'Keep-Alive: max=5', ms: 0 },
    { name: 'not a number', field: 'Keep-Alive: timeout=soon', ms: 0 },
    { name: 'absent', ms: 0 },
  ];
  for (const c of cases) {
    const p = new ResponseParser();
    p.start({ onHead() {}, onBody() {}, onComplete() {} }, false);
    p.execute(Buffer.from(`HTTP/1.1 200 OK\r\n${c.field ? `${c.field}\r\n` : ''}Content-Length: 0\r\n\r\n`));
    t.equal(p.keepAliveMs, c.ms, c.name);
  }
});
