import type { IncomingHttpHeaders } from 'node:http';
import { PortierError } from '../errors';
import { TOKEN, lowerName } from './field-names';

/**
 * A final response head. Its end-to-end fields are kept as received, in
 * `fields`; the `headers` object is built only when something asks for it.
 * Most responses are passed on without one.
 */
export class ResponseHead {
  private built: IncomingHttpHeaders | undefined;

  constructor(
    readonly status: number,
    /** Reason phrase as sent; may be empty. */
    readonly reason: string,
    /**
     * The end-to-end fields in order, as name and value pairs: lower-cased
     * names, one entry per field line. Hop-by-hop fields (RFC 9110 7.6.1)
     * and Transfer-Encoding are framing of this connection, left out.
     */
    readonly fields: readonly string[],
    /** The Connection field's value ('' without one): it may name more fields that are hop-by-hop. */
    readonly connection: string,
    /** The body comes chunked: it may end with trailers (ResponseSink.onTrailers). */
    readonly chunked = false,
  ) {}

  /**
   * The fields as Node presents a message's headers: Set-Cookie always an
   * array, other repeated fields joined with ", ". Built on first use; from
   * then on this object, changes included, is the head's truth.
   */
  get headers(): IncomingHttpHeaders {
    return (this.built ??= headersOf(this.fields));
  }

  get headersBuilt(): boolean {
    return this.built !== undefined;
  }

  /** The first value of a field, without building `headers`. */
  get(name: string): string | undefined {
    for (let i = 0; i < this.fields.length; i += 2) if (this.fields[i] === name) return this.fields[i + 1];
    return undefined;
  }
}

export function headersOf(fields: readonly string[]): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    const value = fields[i + 1];
    // Own fields only: a field named `constructor` or `__proto__` is just a field.
    const prev = Object.hasOwn(headers, name) ? headers[name] : undefined;
    if (name === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
    else if (name === '__proto__') Object.defineProperty(headers, name, { value: prev === undefined ? value : `${prev}, ${value}`, enumerable: true, writable: true, configurable: true });
    else headers[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return headers;
}

/**
 * Receives one response's parts, in order: a head, body chunks, completion.
 * A chunk is a view of the connection's read buffer, valid only until the
 * end of the parser call that delivered it: a sink copies what it keeps.
 */
export interface ResponseSink {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  /**
   * A chunked body's trailer fields, as name and value pairs (lower-cased
   * names), before onComplete; fields that are framing or hop-by-hop are
   * left out, as in a head.
   */
  onTrailers?(fields: string[]): void;
  /** `reusable`: the message was framed and nothing forbids another request on this connection. */
  onComplete(reusable: boolean): void;
}

export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 4096;

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

/**
 * The status of `HTTP/1.x NNN[ reason]` (x 0 or 1, NNN from 100 to 599; a
 * reason of any bytes but NUL, CR and LF), or -1 for any other line. By hand: this
 * runs once per response, and a regular expression with captures cost a
 * fifth of the head's parsing.
 */
function statusOf(line: string): number {
  const minor = line.charCodeAt(7);
  if (line.length < 12 || !line.startsWith('HTTP/1.') || (minor !== 48 && minor !== 49) || line.charCodeAt(8) !== 32) return -1;
  const a = line.charCodeAt(9) - 48;
  const b = line.charCodeAt(10) - 48;
  const c = line.charCodeAt(11) - 48;
  if (a < 1 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  if (line.length > 12 && (line.charCodeAt(12) !== 32 || /[\0\r]/.test(line))) return -1;
  return a * 100 + b * 10 + c;
}

/** The value of 1 to 15 ASCII digits, or -1. */
function decimal(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}


export { TOKEN };

const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d{1,6})/i;

/** `Keep-Alive: timeout=5, max=1000` → 5000; 0 without a timeout. */
function keepAliveTimeout(value: string): number {
  const m = KEEP_ALIVE_TIMEOUT.exec(value);
  return m ? Number(m[1]) * 1000 : 0;
}
// One field line, validated whole: a token name, a colon, then a value of visible ASCII, obs-text, spaces
// and tabs (RFC 9110 5.5): no other control byte, so a stray CR cannot end a line early.
const FIELD_LINE = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\0-\x08\x0a-\x1f\x7f]*)\r\n/y;
const CHUNKED = /^chunked$/i;
const CHUNK_SIZE = /^([0-9a-fA-F]{1,15})[ \t]*(?:;.*)?$/;
/** A Connection field value with the `close` option. */
export const CLOSE_TOKEN = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding']);
/** Their lengths: most names are not one of them, which a length says without hashing the name. */
const HOP_BY_HOP_LENGTHS = Array.from({ length: 20 }, (_, n) => [...HOP_BY_HOP].some((h) => h.length === n));

export const protocolError = (message: string): PortierError =>
  new PortierError('UPSTREAM_INVALID', `invalid upstream response: ${message}`);

/**
 * An incremental HTTP/1.1 response parser for one upstream connection,
 * strict where a lenient reading could desynchronise the connection or be
 * read differently by another parser: a status outside 100-599, a line end
 * other than CRLF (in the head and in chunk framing), Transfer-Encoding
 * together with Content-Length, conflicting Content-Length values,
 * obs-fold, control bytes and malformed chunk sizes are errors. Interim
 * 1xx responses are skipped. A response is reported not reusable when
 * bytes follow its end in the same `execute` call: they answer no request,
 * and they are never parsed as the next response (Portier sends one
 * request at a time). `execute` throws a PortierError `UPSTREAM_INVALID`;
 * the connection is then unusable. `execute` may be given a view of a
 * buffer the caller reuses: the parser copies what it keeps, and body
 * chunks are valid only during `onBody`.
 */
export class ResponseParser {
  private state = State.Idle;
  private sink: ResponseSink | null = null;
  private pending: Buffer | null = null;
  private remaining = 0;
  private headRequest = false;
  private reusable = false;
  private line = '';
  private trailerBytes = 0;
  private trailers: string[] | null = null;
  /** Bytes of the current response seen so far: none means the peer never started answering. */
  received = 0;
  /** The last response's `Keep-Alive: timeout=N`, in ms: how long the server keeps the idle connection; 0 when unsaid. */
  keepAliveMs = 0;

  /** Expects the response to a request just sent; `headRequest` for HEAD (a response without a body). */
  start(sink: ResponseSink, headRequest: boolean): void {
    this.sink = sink;
    this.headRequest = headRequest;
    this.state = State.Head;
    this.pending = null;
    this.trailers = null;
    this.received = 0;
  }

  /** No response is expected: the connection may be pooled. */
  get idle(): boolean {
    return this.state === State.Idle;
  }

  execute(data: Buffer): void {
    if (this.state === State.Idle) throw protocolError('data received with no request outstanding');
    this.received += data.length;
    let i = 0;
    while (i < data.length) {
      switch (this.state) {
        case State.Head:
          i = this.readHead(data, i);
          break;
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.remaining, data.length - i);
          this.sink!.onBody(i === 0 && n === data.length ? data : data.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = this.state === State.Length ? State.Idle : State.ChunkDataEnd;
          break;
        }
        case State.ChunkSize:
        case State.ChunkDataEnd:
        case State.Trailers:
          i = this.readLine(data, i);
          if (i >= 0) this.onLine();
          else i = data.length;
          break;
        case State.UntilClose:
          this.sink!.onBody(i === 0 ? data : data.subarray(i));
          i = data.length;
          break;
      }
      if (this.state === State.Idle) {
        // The response ended: what follows it in this read answers no request, so the connection is not reused
        // and the bytes are refused, even if the sink has started another response from onComplete.
        const trailing = i < data.length;
        this.complete(this.reusable && !trailing);
        if (trailing) throw protocolError('data received with no request outstanding');
        return;
      }
    }
  }

  /** The upstream closed its side: ends a close-delimited body; anything else was cut short. */
  eof(): void {
    if (this.state === State.Idle) return;
    if (this.state === State.UntilClose) {
      this.state = State.Idle;
      this.complete(false);
      return;
    }
    throw protocolError(this.state === State.Head ? 'connection closed before a complete response head' : 'connection closed mid-body');
  }

  /** Reports the response's end (its state is already Idle). */
  private complete(reusable: boolean): void {
    const sink = this.sink!;
    this.sink = null;
    sink.onComplete(reusable);
  }

  private readHead(data: Buffer, i: number): number {
    const prior = this.pending?.length ?? 0;
    const buf = this.pending ? Buffer.concat([this.pending, data.subarray(i)]) : i === 0 ? data : data.subarray(i);
    // The head ends at CRLF CRLF. Every LF is checked as it is found (the last two of an earlier call again, for
    // the bytes that now follow them): a bare LF is refused at once, not after a head that never ends.
    for (let nl = buf.indexOf(10, Math.max(0, prior - 2)); nl >= 0; nl = buf.indexOf(10, nl + 1)) {
      if (buf[nl - 1] !== 13) throw protocolError('bare LF line end in the response head');
      if (buf[nl + 1] !== 13 || buf[nl + 2] !== 10) continue;
      if (nl + 3 > MAX_HEAD_BYTES) break;
      this.pending = null;
      this.parseHead(buf.toString('latin1', 0, nl + 1));
      return i + nl + 3 - prior;
    }
    if (buf.length > MAX_HEAD_BYTES) throw protocolError(`head larger than ${MAX_HEAD_BYTES} bytes`);
    // Kept past this call: a copy, never a view of the caller's buffer (which may be reused for the next read).
    this.pending = prior ? buf : Buffer.from(buf);
    return data.length;
  }

  /** `text`: the status line and field lines, each with its CRLF. */
  private parseHead(text: string): void {
    const eol = text.indexOf('\n');
    const statusLine = text.slice(0, eol - 1);
    const status = statusOf(statusLine);
    if (status < 0) throw protocolError(`status line ${JSON.stringify(statusLine.slice(0, 64))}`);
    const fields: string[] = [];
    let contentLength = -1;
    let close = statusLine.charCodeAt(7) === 48;
    let connection = '';
    let te: string | undefined;
    let keepAliveMs = 0;
    for (let at = eol + 1, n = 1; at < text.length; n++) {
      // test(), not exec(): the line is checked without a match array; its two parts are sliced out by position.
      FIELD_LINE.lastIndex = at;
      if (!FIELD_LINE.test(text)) throw fieldError(text.slice(at, text.indexOf('\n', at) - 1), n);
      const colon = text.indexOf(':', at);
      let from = colon + 1;
      while (text.charCodeAt(from) === 32 || text.charCodeAt(from) === 9) from++;
      const name = lowerName(text.slice(at, colon));
      at = FIELD_LINE.lastIndex;
      const value = trimOws(text.slice(from, at - 2));
      if (name === 'content-length') {
        const length = decimal(value);
        if (length < 0) throw protocolError(`content-length ${JSON.stringify(value)}`);
        if (contentLength >= 0 && contentLength !== length) throw protocolError('conflicting content-length values');
        // Equal repeats are one length: passed on once.
        if (contentLength < 0) fields.push(name, value);
        contentLength = length;
        continue;
      }
      if (HOP_BY_HOP_LENGTHS[name.length] && HOP_BY_HOP.has(name)) {
        if (name === 'connection') {
          connection = connection ? `${connection}, ${value}` : value;
          if (CLOSE_TOKEN.test(value)) close = true;
        } else if (name === 'transfer-encoding') te = te === undefined ? value : `${te}, ${value}`;
        else if (name === 'keep-alive') keepAliveMs = keepAliveTimeout(value);
        continue;
      }
      fields.push(name, value);
    }
    if (status < 200) {
      if (status === 101) throw protocolError('101 Switching Protocols to a request that did not ask to upgrade');
      return; // Interim (100, 103): the final response follows on the same connection.
    }
    // Only chunked is decoded (as Go's client): another coding would reach the client still applied and undeclared.
    if (te !== undefined && !CHUNKED.test(te)) throw protocolError(`unsupported transfer-encoding ${JSON.stringify(te)}`);
    // Two framings: RFC 9112 6.3 lets Transfer-Encoding win, but a message sent with both is how responses are
    // smuggled past a parser that picks the other, so it is refused (even where no body follows).
    if (te !== undefined && contentLength >= 0) throw protocolError('both transfer-encoding and content-length');
    this.reusable = !close;
    this.keepAliveMs = keepAliveMs;
    const sink = this.sink!;
    sink.onHead(new ResponseHead(status, statusLine.length > 13 ? statusLine.slice(13) : '', fields, connection, te !== undefined));
    if (this.headRequest || status === 204 || status === 304 || contentLength === 0) this.state = State.Idle;
    else if (te !== undefined) this.state = State.ChunkSize;
    else if (contentLength > 0) {
      this.state = State.Length;
      this.remaining = contentLength;
    } else this.untilClose();
  }

  private untilClose(): void {
    this.state = State.UntilClose;
    this.reusable = false;
  }

  /** Reads one line (without its CRLF) into `line`; -1 when the buffer ended first (kept for the next call). */
  private readLine(data: Buffer, i: number): number {
    const nl = data.indexOf(10, i);
    const prior = this.pending?.length ?? 0;
    if (nl < 0) {
      if (prior + data.length - i > MAX_LINE_BYTES) throw protocolError('chunk framing line too long');
      this.pending = this.pending ? Buffer.concat([this.pending, data.subarray(i)]) : Buffer.from(data.subarray(i));
      return -1;
    }
    if (prior + nl - i > MAX_LINE_BYTES) throw protocolError('chunk framing line too long');
    if ((nl > i ? data[nl - 1] : prior ? this.pending![prior - 1] : -1) !== 13) throw protocolError('bare LF line end in chunk framing');
    const text = data.toString('latin1', i, nl);
    this.line = (this.pending ? this.pending.toString('latin1') + text : text).slice(0, -1);
    this.pending = null;
    return nl + 1;
  }

  private onLine(): void {
    const line = this.line;
    if (this.state === State.ChunkSize) {
      const m = CHUNK_SIZE.exec(line);
      if (!m) throw protocolError(`chunk size ${JSON.stringify(line.slice(0, 32))}`);
      const size = parseInt(m[1], 16);
      if (size === 0) {
        this.state = State.Trailers;
        this.trailerBytes = 0;
      } else {
        this.state = State.ChunkData;
        this.remaining = size;
      }
    } else if (this.state === State.ChunkDataEnd) {
      if (line !== '') throw protocolError('chunk data longer than its size');
      this.state = State.ChunkSize;
    } else if (line === '') {
      this.state = State.Idle;
      const trailers = this.trailers;
      this.trailers = null;
      if (trailers) this.sink!.onTrailers?.(trailers);
    } else if ((this.trailerBytes += line.length) > MAX_HEAD_BYTES) throw protocolError('trailers too large');
    else this.trailerField(`${line}\r\n`);
  }

  /** One trailer line, read as a head's field line is (the same checks, the same fields left out). */
  private trailerField(line: string): void {
    FIELD_LINE.lastIndex = 0;
    const f = FIELD_LINE.exec(line);
    if (!f) throw fieldError(line.slice(0, -2), 1);
    const name = lowerName(f[1]);
    if (name === 'content-length' || HOP_BY_HOP.has(name)) return;
    (this.trailers ??= []).push(name, trimOws(f[2]));
  }
}

/** The value without trailing spaces and tabs (FIELD_LINE already skipped the leading ones). */
function trimOws(value: string): string {
  let end = value.length;
  while (end > 0 && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return end === value.length ? value : value.slice(0, end);
}

/** Says what is wrong with a field line FIELD_LINE refused. */
function fieldError(line: string, n: number): PortierError {
  const colon = line.indexOf(':');
  if (line[0] === ' ' || line[0] === '\t') return protocolError(`obsolete line folding in header line ${n}`);
  if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return protocolError(`header line ${n} is not "name: value"`);
  return protocolError(`control character in header ${JSON.stringify(line.slice(0, colon).toLowerCase())}`);
}

