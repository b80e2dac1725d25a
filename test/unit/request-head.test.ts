import t from 'tap';
import { HAND_OFF, INCOMPLETE, readRequestHead, type PlainRequestHead } from '../../src/server/request-head';
import { prng } from '../helpers/prng';

/**
 * readRequestHead (the direct path's request reader) against a table of
 * cases, then against Node's own parser (llhttp): every head it accepts,
 * from the table and from seeded random mutations of plain requests, must
 * be one llhttp accepts too and reads the same way (method, target, raw
 * fields, keep-alive, no upgrade, first message ending at `end`).
 */

const MAX_HEAD = 16_384;
const MAX_FIELDS = 100;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer']);

interface Accepted {
  method: string;
  url: string;
  /** Expected `headers` (lower-cased names, hop-by-hop left out). */
  headers: Record<string, string>;
  rawHeaders: string[];
  /** Offset of the end of the head in the whole buffer (prefix included); default: the buffer's length. */
  end?: number;
  /** It carries a field Portier sets (X-Forwarded-*, X-Real-Ip, Forwarded); default false. */
  forwarded?: boolean;
}

interface Case {
  name: string;
  /** The request bytes (latin1). */
  raw: string;
  /** Bytes before the request: `start` is their length. */
  prefix?: string;
  maxHeadBytes?: number;
  maxFields?: number;
  expect: Accepted | typeof INCOMPLETE | typeof HAND_OFF;
}

const head = (lines: string[], requestLine = 'GET /a HTTP/1.1'): string => `${requestLine}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
const handOff = (name: string, raw: string, extra: Partial<Case> = {}): Case => ({ name, raw, expect: HAND_OFF, ...extra });
/** A GET /a with Host: x and one more field line, handed off. */
const fieldHandOff = (name: string, line: string): Case => handOff(name, head(['Host: x', line]));

const big = 'v'.repeat(MAX_HEAD - head(['Host: x', 'X-Big: ']).length);

const cases: Case[] = [
  // Accepted.
  {
    name: 'minimal GET',
    raw: head(['Host: example.test']),
    expect: { method: 'GET', url: '/a', headers: { host: 'example.test' }, rawHeaders: ['Host', 'example.test'] },
  },
  ...(['GET', 'HEAD', 'OPTIONS', 'DELETE'] as const).map((method): Case => ({
    name: `method ${method}`,
    raw: head(['Host: x'], `${method} /p?q=1&r=%20 HTTP/1.1`),
    expect: { method, url: '/p?q=1&r=%20', headers: { host: 'x' }, rawHeaders: ['Host', 'x'] },
  })),
  {
    name: 'names keep their case in rawHeaders and are lower-cased in headers; OWS trimmed, inner SP/HTAB kept',
    raw: head(['HOST: x', 'X-Mixed-Case:   a  b\tc \t ', 'Accept:\t*/*', 'Empty:', 'Blank: \t ']),
    expect: {
      method: 'GET', url: '/a',
      headers: { host: 'x', 'x-mixed-case': 'a  b\tc', accept: '*/*', empty: '', blank: '' },
      rawHeaders: ['HOST', 'x', 'X-Mixed-Case', 'a  b\tc', 'Accept', '*/*', 'Empty', '', 'Blank', ''],
    },
  },
  {
    name: 'hop-by-hop fields stay in rawHeaders, out of headers',
    raw: head(['Host: x', 'Connection: keep-alive', 'Keep-Alive: timeout=5', 'TE: trailers', 'Trailer: X', 'Proxy-Authorization: Basic Zm9v', 'Proxy-Authenticate: Basic', 'X-Kept: 1']),
    expect: {
      method: 'GET', url: '/a', headers: { host: 'x', 'x-kept': '1' },
      rawHeaders: ['Host', 'x', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Trailer', 'X', 'Proxy-Authorization', 'Basic Zm9v', 'Proxy-Authenticate', 'Basic', 'X-Kept', '1'],
    },
  },
  {
    name: 'Connection: Keep-Alive in any case',
    raw: head(['Host: x', 'connection: KEEP-alive']),
    expect: { method: 'GET', url: '/a', headers: { host: 'x' }, rawHeaders: ['Host', 'x', 'connection', 'KEEP-alive'] },
  },
  {
    name: 'every visible ASCII byte in the target and in a value; every tchar in a name',
    raw: head(["Host: x", "!#$%&'*+-.^_`|~09AZaz: !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"], 'GET /!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~ HTTP/1.1'),
    expect: {
      method: 'GET', url: '/!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~',
      headers: { host: 'x', ["!#$%&'*+-.^_`|~09AZaz".toLowerCase()]: "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~" },
      rawHeaders: ['Host', 'x', "!#$%&'*+-.^_`|~09AZaz", "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"],
    },
  },
  {
    name: 'pipelined: end points at the second request',
    raw: head(['Host: x']) + head(['Host: y'], 'GET /b HTTP/1.1'),
    expect: { method: 'GET', url: '/a', headers: { host: 'x' }, rawHeaders: ['Host', 'x'], end: head(['Host: x']).length },
  },
  {
    name: 'pipelined: a POST with a body after a plain GET',
    raw: head(['Host: x']) + 'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi',
    expect: { method: 'GET', url: '/a', headers: { host: 'x' }, rawHeaders: ['Host', 'x'], end: head(['Host: x']).length },
  },
  {
    name: 'start offset past earlier bytes (which may hold their own CRLFCRLF)',
    prefix: 'junk\r\n\r\nmore',
    raw: head(['Host: x', 'A: b']),
    expect: { method: 'GET', url: '/a', headers: { host: 'x', a: 'b' }, rawHeaders: ['Host', 'x', 'A', 'b'] },
  },
  {
    name: 'head of exactly maxHeadBytes',
    raw: head(['Host: x', `X-Big: ${big}`]),
    expect: { method: 'GET', url: '/a', headers: { host: 'x', 'x-big': big }, rawHeaders: ['Host', 'x', 'X-Big', big] },
  },
  {
    name: 'exactly maxFields field lines',
    maxFields: 3,
    raw: head(['Host: x', 'A: 1', 'B: 2']),
    expect: { method: 'GET', url: '/a', headers: { host: 'x', a: '1', b: '2' }, rawHeaders: ['Host', 'x', 'A', '1', 'B', '2'] },
  },
  ...(['X-Forwarded-For', 'x-real-ip', 'Forwarded', 'X-Forwarded-Prefix'] as const).map((name) => ({
    name: `${name}: flagged as carrying a field Portier sets`,
    raw: head(['Host: x', `${name}: 1.2.3.4`]),
    expect: { method: 'GET', url: '/a', headers: { host: 'x', [name.toLowerCase()]: '1.2.3.4' }, rawHeaders: ['Host', 'x', name, '1.2.3.4'], forwarded: true },
  })),
  {
    name: 'X-Forwarded-Fo (not one of them): not flagged',
    raw: head(['Host: x', 'X-Forwarded-Fo: y']),
    expect: { method: 'GET', url: '/a', headers: { host: 'x', 'x-forwarded-fo': 'y' }, rawHeaders: ['Host', 'x', 'X-Forwarded-Fo', 'y'] },
  },

  // Not a whole head yet.
  { name: 'empty', raw: '', expect: INCOMPLETE },
  { name: 'request line only', raw: 'GET /a HTTP/1.1\r\n', expect: INCOMPLETE },
  { name: 'head without its blank line', raw: 'GET /a HTTP/1.1\r\nHost: x\r\n', expect: INCOMPLETE },
  { name: 'head ending in CRLFCR', raw: 'GET /a HTTP/1.1\r\nHost: x\r\n\r', expect: INCOMPLETE },
  { name: 'partial head after the start offset', prefix: head(['Host: x']), raw: 'GET /b HT', expect: INCOMPLETE },
  handOff('partial head already over maxHeadBytes', `GET /a HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(MAX_HEAD)}`),
  { name: 'partial head of exactly maxHeadBytes', raw: `GET /a HTTP/1.1\r\nHost: x\r\nX-Big: ${'v'.repeat(MAX_HEAD)}`.slice(0, MAX_HEAD), expect: INCOMPLETE },

  // Request line outside the subset.
  ...['POST', 'PUT', 'PATCH', 'CONNECT', 'TRACE', 'PRI', 'get', 'Get', 'PROPFIND'].map((m) => handOff(`method ${m}`, head(['Host: x'], `${m} /a HTTP/1.1`))),
  handOff('HTTP/1.0', head(['Host: x'], 'GET /a HTTP/1.0')),
  handOff('HTTP/2.0', head(['Host: x'], 'GET /a HTTP/2.0')),
  handOff('lower-case version', head(['Host: x'], 'GET /a http/1.1')),
  handOff('HTTP/0.9 style (no version)', head(['Host: x'], 'GET /a')),
  handOff('absolute-form target', head(['Host: x'], 'GET http://x/a HTTP/1.1')),
  handOff('asterisk-form target', head(['Host: x'], 'OPTIONS * HTTP/1.1')),
  handOff('authority-form target', head(['Host: x'], 'CONNECT x:443 HTTP/1.1')),
  handOff('empty target', head(['Host: x'], 'GET  HTTP/1.1')),
  handOff('two spaces after the method', head(['Host: x'], 'GET  /a HTTP/1.1')),
  handOff('two spaces before the version', head(['Host: x'], 'GET /a  HTTP/1.1')),
  handOff('tab as a separator', head(['Host: x'], 'GET\t/a HTTP/1.1')),
  handOff('obs-text byte in the target', head(['Host: x'], 'GET /caf\xe9 HTTP/1.1')),
  handOff('DEL in the target', head(['Host: x'], 'GET /a\x7f HTTP/1.1')),
  handOff('NUL in the target', head(['Host: x'], 'GET /a\x00 HTTP/1.1')),
  handOff('leading CRLF before the request line', `\r\n${head(['Host: x'])}`),
  handOff('request line ending in LF only', 'GET /a HTTP/1.1\nHost: x\r\n\r\n'),

  // Field lines outside the subset.
  handOff('field line ending in LF only', 'GET /a HTTP/1.1\r\nHost: x\nA: b\r\n\r\n'),
  handOff('bare CR inside a value', head(['Host: x', 'A: b\rc'])),
  handOff('obs-fold', head(['Host: x', 'A: b', ' c'])),
  handOff('obs-fold with a tab', head(['Host: x', 'A: b', '\tc'])),
  handOff('obs-text byte 0x80 in a value', head(['Host: x', 'A: b\x80'])),
  handOff('obs-text byte 0xff in a value', head(['Host: x', 'A: \xff'])),
  handOff('control byte in a value', head(['Host: x', 'A: b\x01c'])),
  handOff('NUL in a value', head(['Host: x', 'A: b\x00'])),
  handOff('DEL in a value', head(['Host: x', 'A: b\x7f'])),
  handOff('space before the colon', head(['Host: x', 'A : b'])),
  handOff('tab before the colon', head(['Host: x', 'A\t: b'])),
  handOff('no colon', head(['Host: x', 'A b'])),
  handOff('empty name', head(['Host: x', ': b'])),
  handOff('separator in a name', head(['Host: x', 'A(b): c'])),
  handOff('obs-text in a name', head(['Host: x', 'A\xe9: c'])),
  handOff('duplicate field', head(['Host: x', 'A: 1', 'A: 2'])),
  handOff('duplicate field, names in different case', head(['Host: x', 'X-Foo: 1', 'x-foo: 1'])),
  handOff('duplicate Host', head(['Host: x', 'Host: y'])),
  // Hop-by-hop fields are left out of `headers`, and must still be seen only once.
  handOff('duplicate Connection: keep-alive', head(['Host: x', 'Connection: keep-alive', 'connection: keep-alive'])),
  handOff('duplicate TE', head(['Host: x', 'TE: trailers', 'TE: trailers'])),
  handOff('duplicate Keep-Alive', head(['Host: x', 'Keep-Alive: timeout=5', 'Keep-Alive: timeout=5'])),
  handOff('duplicate Proxy-Authorization', head(['Host: x', 'Proxy-Authorization: a', 'Proxy-Authorization: b'])),
  ...['Content-Length: 0', 'Content-Length: 5', 'Transfer-Encoding: chunked', 'transfer-encoding: identity', 'Upgrade: websocket', 'Upgrade: h2c', 'Expect: 100-continue', 'HTTP2-Settings: AAMAAABkAAQAAP__', '__proto__: x'].map((line) =>
    fieldHandOff(`field ${line.split(':')[0]}`, line),
  ),
  fieldHandOff('Connection: close', 'Connection: close'),
  // llhttp reads Proxy-Connection as Connection (Node closes after `Proxy-Connection: close`).
  fieldHandOff('Proxy-Connection: close', 'Proxy-Connection: close'),
  fieldHandOff('Proxy-Connection: keep-alive', 'Proxy-Connection: keep-alive'),
  fieldHandOff('Connection: Upgrade', 'Connection: Upgrade'),
  fieldHandOff('Connection: keep-alive, Upgrade', 'Connection: keep-alive, Upgrade'),
  fieldHandOff('Connection: keep-alive, close', 'Connection: keep-alive, close'),
  fieldHandOff('Connection: TE', 'Connection: TE'),
  fieldHandOff('Connection: (empty)', 'Connection:'),
  handOff('Upgrade with Connection: upgrade', head(['Host: x', 'Connection: upgrade', 'Upgrade: websocket'])),
  handOff('no Host', head(['Accept: */*'])),
  handOff('no field at all', head([])),
  handOff('head over maxHeadBytes', head(['Host: x', `X-Big: ${big}v`])),
  handOff('head over a small maxHeadBytes', head(['Host: x']), { maxHeadBytes: head(['Host: x']).length - 1 }),
  handOff('more than maxFields field lines', head(['Host: x', 'A: 1', 'B: 2', 'C: 3']), { maxFields: 3 }),
  handOff('more than 100 field lines (default bound)', head(['Host: x', ...Array.from({ length: 100 }, (_, i) => `F${i}: ${i}`)])),
];

// ---------------------------------------------------------------------------
// Node's parser (llhttp), as Node's HTTP server drives it.

interface ParserInstance {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenientFlags?: number): void;
  execute(data: Buffer): number | Error;
  close(): void;
  [callback: number]: unknown;
}
interface ParserClass {
  new (): ParserInstance;
  REQUEST: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HTTPParser, methods } = require('_http_common') as { HTTPParser: ParserClass; methods: string[] };

interface LlhttpRead {
  /** The parser's error code, or null. */
  error: string | null;
  /** Bytes execute() consumed (on success). */
  consumed: number;
  /** Messages completed. */
  completes: number;
  /** Of the first message. */
  method?: string;
  url: string;
  rawHeaders: string[];
  version?: string;
  keepAlive?: boolean;
  upgrade?: boolean;
}

/** What llhttp reads from `bytes`, with Node's server settings (strict, same head bound). */
function llhttp(bytes: Buffer, maxHeaderSize: number): LlhttpRead {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, maxHeaderSize, 0);
  const out: LlhttpRead = { error: null, consumed: 0, completes: 0, url: '', rawHeaders: [] };
  let first = true;
  // More than 32 fields, or a head across execute() calls: Node's binding flushes fields and target early.
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string): void => {
    if (!first) return;
    out.rawHeaders.push(...headers);
    out.url += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    versionMajor: number, versionMinor: number, headers: string[] | undefined, method: number, url: string | undefined,
    _status: unknown, _reason: unknown, upgrade: boolean, shouldKeepAlive: boolean,
  ): number => {
    if (first) {
      if (headers) out.rawHeaders.push(...headers);
      if (url) out.url += url;
      Object.assign(out, { method: methods[method], version: `${versionMajor}.${versionMinor}`, upgrade, keepAlive: shouldKeepAlive });
    }
    return 0;
  };
  parser[HTTPParser.kOnBody] = (): void => undefined;
  parser[HTTPParser.kOnMessageComplete] = (): void => {
    first = false;
    out.completes++;
  };
  const r = parser.execute(bytes);
  parser.close();
  if (r instanceof Error) out.error = (r as Error & { code?: string }).code ?? r.message;
  else out.consumed = r;
  return out;
}

/**
 * Problems (empty: none) with an accepted head, judged by llhttp: the
 * bytes from `start` to `end` must be exactly one whole message that
 * llhttp reads the same way, and one byte less must not complete one.
 */
function disagreements(buf: Buffer, start: number, got: PlainRequestHead, maxHeadBytes: number): string[] {
  const problems: string[] = [];
  const whole = llhttp(buf.subarray(start, got.end), maxHeadBytes);
  if (whole.error) return [`llhttp rejects it: ${whole.error}`];
  if (whole.completes !== 1 || whole.consumed !== got.end - start) problems.push(`llhttp: ${whole.completes} message(s), ${whole.consumed} bytes; readRequestHead: end ${got.end - start}`);
  if (whole.method !== got.method) problems.push(`method: llhttp ${whole.method}, readRequestHead ${got.method}`);
  if (whole.url !== got.url) problems.push(`url: llhttp ${JSON.stringify(whole.url)}, readRequestHead ${JSON.stringify(got.url)}`);
  if (JSON.stringify(whole.rawHeaders) !== JSON.stringify(got.rawHeaders)) problems.push(`rawHeaders: llhttp ${JSON.stringify(whole.rawHeaders)}, readRequestHead ${JSON.stringify(got.rawHeaders)}`);
  if (whole.version !== '1.1') problems.push(`version: llhttp ${whole.version}`);
  if (whole.keepAlive !== true) problems.push('llhttp: not keep-alive (Node would close the connection after the response)');
  if (whole.upgrade !== false) problems.push('llhttp: an upgrade');
  const short = llhttp(buf.subarray(start, got.end - 1), maxHeadBytes);
  if (short.completes !== 0) problems.push('llhttp completes a message one byte before `end`');
  // `headers` must be rawHeaders, lower-cased, hop-by-hop left out, each name once.
  const expected: Record<string, string> = {};
  for (let i = 0; i < got.rawHeaders.length; i += 2) {
    const name = got.rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP.has(name)) expected[name] = got.rawHeaders[i + 1];
  }
  if (JSON.stringify(Object.entries(got.headers).sort()) !== JSON.stringify(Object.entries(expected).sort())) problems.push(`headers ${JSON.stringify(got.headers)} are not rawHeaders without hop-by-hop`);
  return problems;
}

const describe = (r: ReturnType<typeof readRequestHead>): string => (r === INCOMPLETE ? 'INCOMPLETE' : r === HAND_OFF ? 'HAND_OFF' : 'accepted');

for (const c of cases) {
  t.test(c.name, (t) => {
    const prefix = c.prefix ?? '';
    const buf = Buffer.from(prefix + c.raw, 'latin1');
    const max = c.maxHeadBytes ?? MAX_HEAD;
    const got = readRequestHead(buf, prefix.length, max, c.maxFields ?? MAX_FIELDS);
    const shown = JSON.stringify(c.raw.slice(0, 200));
    if (typeof c.expect === 'number') t.equal(describe(got), describe(c.expect), `${describe(c.expect)}: ${shown}`);
    else if (typeof got === 'number') t.fail(`expected accepted, got ${describe(got)}: ${shown}`);
    else {
      const { end = buf.length, forwarded = false, ...fields } = c.expect;
      t.same({ method: got.method, url: got.url, headers: { ...got.headers }, rawHeaders: got.rawHeaders }, fields, 'method, url, headers, rawHeaders');
      t.equal(got.end, end, 'end');
      t.equal(got.forwarded, forwarded, 'forwarded');
    }
    // Whatever the expectation, an accepted head must read the same in llhttp.
    if (typeof got !== 'number') t.same(disagreements(buf, prefix.length, got, max), [], 'llhttp reads the same');
    t.end();
  });
}

// ---------------------------------------------------------------------------
// Differential: seeded random mutations of plain requests.


const SEED = Number(process.env.REQUEST_HEAD_SEED ?? 0x5eed1234);
const ITERATIONS = Number(process.env.REQUEST_HEAD_ITERATIONS ?? 6000);

t.test('differential against llhttp: seeded random mutations of plain requests', (t) => {
  t.comment(`seed ${SEED} (set REQUEST_HEAD_SEED to replay another), ${ITERATIONS} iterations`);
  const random = prng(SEED);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];

  const pathChars = "abcXYZ019-._~!$&'()*+,;=:@/%?#[]\\^`{|}\"<>";
  const fieldLines = [
    'User-Agent: probe/1.0 (x; y)', 'Accept: */*', 'Accept-Encoding: gzip, deflate', 'Cookie: a=1; b=2',
    'X-Custom:  spaced \t value\t', 'X-Empty:', 'Connection: keep-alive', 'Keep-Alive: timeout=5', 'TE: trailers',
    'Proxy-Authorization: Basic Zm9vOmJhcg==', 'If-None-Match: "abc"', 'Authorization: Bearer t.k.n', 'Range: bytes=0-10',
    'X-Forwarded-For: 1.2.3.4', 'Cache-Control: no-cache', 'Referer: http://x/y?z',
  ];
  const base = (): string => {
    const method = pick(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
    let path = '/';
    for (let i = int(12); i > 0; i--) path += pick([...pathChars]);
    const lines = [`Host: ${pick(['x', 'example.test', 'a.localhost:8080', '[::1]:80'])}`];
    const pool = [...fieldLines];
    for (let i = int(5); i > 0; i--) lines.push(pool.splice(int(pool.length), 1)[0]);
    // Host anywhere among the fields.
    const at = int(lines.length);
    [lines[0], lines[at]] = [lines[at], lines[0]];
    return `${method} ${path} HTTP/1.1\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
  };
  const special = [13, 10, 32, 9, 0, 0x7f, 0x80, 0xff, 0x3a, 0x2f, 0x2c, 0x0b, 0x0c];
  const byte = (): number => (random() < 0.5 ? pick(special) : int(256));
  const mutations: ((b: number[]) => void)[] = [
    (b) => { if (b.length) b[int(b.length)] = byte(); }, // flip
    (b) => { b.splice(int(b.length + 1), 0, byte()); }, // insert
    (b) => { if (b.length) b.splice(int(b.length), 1); }, // delete
    (b) => {
      // duplicate a line
      const s = Buffer.from(b).toString('latin1');
      const lines = s.split('\r\n');
      if (lines.length < 3) return;
      const i = 1 + int(lines.length - 3);
      lines.splice(i, 0, lines[i]);
      b.splice(0, b.length, ...Buffer.from(lines.join('\r\n'), 'latin1'));
    },
    (b) => {
      // change the case of a run of bytes
      const from = int(b.length);
      const to = Math.min(b.length, from + 1 + int(12));
      for (let i = from; i < to; i++) {
        const c = b[i];
        if (c >= 0x41 && c <= 0x5a) b[i] = c + 32;
        else if (c >= 0x61 && c <= 0x7a) b[i] = c - 32;
      }
    },
    (b) => {
      // CRLF → LF, or LF → CRLF
      const s = Buffer.from(b).toString('latin1');
      const ends = [...s.matchAll(/\r?\n/g)];
      if (!ends.length) return;
      const m = pick(ends);
      b.splice(m.index!, m[0].length, ...(m[0] === '\r\n' ? [10] : [13, 10]));
    },
    (b) => {
      // a field line of a handed-off or hop-by-hop name, or a near miss
      const s = Buffer.from(b).toString('latin1');
      const i = s.indexOf('\r\n') + 2;
      const line = pick(['Content-Length: 0', 'Transfer-Encoding: chunked', 'Upgrade: websocket', 'Expect: 100-continue', 'Connection: close', 'Connection: keep-alive',
        'Proxy-Connection: keep-alive', 'Proxy-Connection: close', 'TE: x', 'Content-Lengths: 1', 'Connection: keep-alive ', 'Trailer: A', 'Keep-Alive: x', 'Host: dup', 'X:y', 'x-a:\t']);
      b.splice(i, 0, ...Buffer.from(`${line}\r\n`, 'latin1'));
    },
  ];

  let accepted = 0;
  let incomplete = 0;
  let handedOff = 0;
  let failures = 0;
  for (let n = 0; n < ITERATIONS && failures < 5; n++) {
    const bytes = [...Buffer.from(base(), 'latin1')];
    for (let m = 1 + int(3); m > 0; m--) pick(mutations)(bytes);
    const prefix = random() < 0.2 ? [...Buffer.from(base(), 'latin1')].slice(0, int(40)) : [];
    const tail = random() < 0.3 ? [...Buffer.from(base(), 'latin1')] : [];
    const buf = Buffer.from([...prefix, ...bytes, ...tail]);
    const maxHeadBytes = random() < 0.1 ? 20 + int(120) : MAX_HEAD;
    const maxFields = random() < 0.1 ? 1 + int(4) : MAX_FIELDS;
    const got = readRequestHead(buf, prefix.length, maxHeadBytes, maxFields);
    if (got === INCOMPLETE) incomplete++;
    else if (got === HAND_OFF) handedOff++;
    else {
      accepted++;
      const problems = disagreements(buf, prefix.length, got, maxHeadBytes);
      if (got.headers.host === undefined) problems.push('accepted without Host');
      if (got.end - prefix.length > maxHeadBytes) problems.push('accepted over maxHeadBytes');
      if (got.rawHeaders.length > maxFields * 2) problems.push('accepted over maxFields');
      if (problems.length) {
        failures++;
        // The bytes as JSON (latin1), to paste into a table case.
        t.fail(`seed ${SEED} iteration ${n}: ${problems.join('; ')}; start ${prefix.length}, maxHeadBytes ${maxHeadBytes}, maxFields ${maxFields}, bytes ${JSON.stringify(buf.toString('latin1'))}`);
      }
    }
  }
  t.comment(`accepted ${accepted}, handed off ${handedOff}, incomplete ${incomplete}`);
  t.equal(failures, 0, 'readRequestHead never accepts what llhttp rejects or reads differently');
  // The mutations must leave enough heads plain for the comparison to mean something, and reach the other outcomes too.
  t.ok(accepted > ITERATIONS / 10, `enough accepted mutations (${accepted})`);
  t.ok(handedOff > ITERATIONS / 10, `enough handed-off mutations (${handedOff})`);
  t.ok(incomplete > 0, `some incomplete mutations (${incomplete})`);
  t.end();
});
