import { STATUS_CODES, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { CLOSE_TOKEN } from '../proxy/response-parser';
import { noBodyStatus } from './node-response';
import { checkField } from '../proxy/field-names';

/** What the connection does for its current response. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** `Keep-Alive: timeout=` in seconds; 0 sends none. */
  readonly keepAliveSeconds: number;
  /** The connection closes after this response. */
  readonly closing: boolean;
  /** The last byte is queued: the next request may be read. */
  responseDone(res: DirectResponse): void;
}

const CHUNKED_END = Buffer.from('0\r\n\r\n', 'latin1');
/** Heads and bodies up to this size leave in one buffer, one syscall; larger ones are written as two (corked). */
const JOIN_LIMIT = 16 * 1024;

let dateSecond = 0;
let dateValue = '';
/** The Date header, formatted once per second as Node's server does. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}


/**
 * The response of a request served on the direct path, written straight to
 * the client socket. It frames the body as Node's server would (its
 * Content-Length, chunked otherwise, none for HEAD, 1xx, 204 and 304) and
 * adds the same Date and Connection fields, but builds the head once, at
 * the first byte, and sends a head with a whole body in one write.
 * It has the part of ServerResponse the direct route uses (the balancer,
 * the upstream client, error answers, observers), with the same meaning,
 * and one guarantee Node's lacks: it never keeps a chunk it is given past
 * the call (the upstream client hands it views of a reused read buffer).
 * Events: `drain` from the socket, `close` once, when the response is
 * done or the client went away first (then `writableFinished` is false).
 */
export class DirectResponse {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  writableFinished = false;
  /** Body bytes written (framing excluded). */
  bodyBytes = 0;
  /** The head said `Connection: close`: the connection ends after this response. */
  closesConnection = false;
  /** Every chunk written is copied or sent before write() returns: a writer may hand it views it will reuse. */
  readonly keepsChunks = false;
  private readonly fields = new Map<string, OutgoingHttpHeader>();
  private chunked = false;
  private closed = false;

  constructor(
    private readonly owner: ResponseOwner,
    private readonly headRequest: boolean,
  ) {}

  private closeListeners: (() => void)[] | null = null;
  private drainListeners: (() => void)[] | null = null;

  /**
   * The two events there are, without an EventEmitter (whose set-up and
   * bookkeeping showed in the profile of every request). `close` fires
   * once and a `drain` listener fires at most once, so `once` is `on`.
   */
  on(event: 'close' | 'drain', listener: () => void): this {
    if (event === 'close') (this.closeListeners ??= []).push(listener);
    else if (event === 'drain') (this.drainListeners ??= []).push(listener);
    else throw new Error(`a direct response has no ${JSON.stringify(event)} event`);
    return this;
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    return this.on(event, listener);
  }

  off(event: 'close' | 'drain', listener: () => void): this {
    const list = event === 'close' ? this.closeListeners : this.drainListeners;
    const i = list ? list.indexOf(listener) : -1;
    if (i >= 0) list!.splice(i, 1);
    return this;
  }

  /** The socket drained: each waiting listener runs, once. */
  drained(): void {
    const listeners = this.drainListeners;
    this.drainListeners = null;
    if (listeners) for (const l of listeners) l();
  }

  /**
   * Not validated, unlike Node's: fields set here come from the response
   * parser, which admits only valid ones, from Portier itself (sticky
   * cookie), or from response hooks, which the upstream call checks
   * (upstream-call.ts); a middleware's own answer goes through writeHead.
   */
  setHeader(name: string, value: OutgoingHttpHeader): this {
    if (this.headersSent) throw Object.assign(new Error('Cannot set headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
    this.fields.set(name.toLowerCase(), value);
    return this;
  }

  /** Adds a value to a field (a second value makes it a list, as Node's appendHeader). */
  appendHeader(name: string, value: OutgoingHttpHeader): this {
    const key = name.toLowerCase();
    const prev = this.fields.get(key);
    if (prev === undefined) return this.setHeader(key, value);
    const add = Array.isArray(value) ? value : [String(value)];
    return this.setHeader(key, Array.isArray(prev) ? [...prev, ...add] : [String(prev), ...add]);
  }

  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.fields.get(name.toLowerCase());
  }

  getHeaders(): OutgoingHttpHeaders {
    return Object.fromEntries(this.fields);
  }

  /** The end is queued (or the client is gone): nothing more may be written. */
  get writableEnded(): boolean {
    return this.writableFinished || this.closed;
  }

  /**
   * Fields given here come from a middleware's own answer (a redirect's
   * Location, a challenge): checked as Node's writeHead checks them, since
   * they may carry configured or client-derived text.
   */
  writeHead(status: number, reasonOrHeaders?: string | OutgoingHttpHeaders, headers?: OutgoingHttpHeaders): this {
    const fields = typeof reasonOrHeaders === 'object' ? reasonOrHeaders : headers;
    if (typeof reasonOrHeaders === 'string') this.statusMessage = reasonOrHeaders;
    if (fields) {
      for (const name in fields) {
        const value = fields[name];
        if (value === undefined) continue;
        checkField(name, value);
        this.setHeader(name, value);
      }
    }
    this.statusCode = status;
    return this;
  }

  write(chunk: Buffer | string): boolean {
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.headersSent) return this.send(this.head(undefined), body);
    return this.send('', body);
  }

  end(chunk?: Buffer | string | (() => void)): this {
    if (this.writableFinished || this.closed) return this;
    const body = typeof chunk === 'function' || chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const head = this.headersSent ? '' : this.head(body?.length ?? 0);
    this.send(head, body, true);
    this.writableFinished = true;
    this.owner.responseDone(this);
    return this;
  }

  destroy(): this {
    this.owner.socket.destroy();
    return this;
  }

  /** The client went away, or the response is done: `close`, once. */
  closeOnce(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeListeners) for (const l of this.closeListeners) l();
  }

  private get bodyless(): boolean {
    return this.headRequest || noBodyStatus(this.statusCode);
  }

  /** `knownLength`: the whole body, when the head goes out with it at the end. */
  private head(knownLength: number | undefined): string {
    this.headersSent = true;
    const status = this.statusCode;
    let out = `HTTP/1.1 ${status} ${this.statusMessage || STATUS_CODES[status] || 'unknown'}\r\n`;
    for (const [name, value] of this.fields) {
      if (Array.isArray(value)) for (const v of value) out += `${name}: ${v}\r\n`;
      else out += `${name}: ${value}\r\n`;
    }
    if (!this.fields.has('date')) out += `Date: ${httpDate()}\r\n`;
    const { owner } = this;
    const own = this.fields.get('connection');
    // As Node's server: a Connection field set on the response is sent as it is, and `close` in it is obeyed.
    if (own !== undefined) this.closesConnection = CLOSE_TOKEN.test(String(own));
    else if (owner.closing) {
      out += 'Connection: close\r\n';
      this.closesConnection = true;
    } else {
      out += 'Connection: keep-alive\r\n';
      if (owner.keepAliveSeconds) out += `Keep-Alive: timeout=${owner.keepAliveSeconds}\r\n`;
    }
    if (!this.bodyless && !this.fields.has('content-length')) {
      if (knownLength !== undefined) out += `Content-Length: ${knownLength}\r\n`;
      else {
        this.chunked = true;
        out += 'Transfer-Encoding: chunked\r\n';
      }
    }
    return `${out}\r\n`;
  }

  private send(head: string, body: Buffer | undefined, last = false): boolean {
    const { socket } = this.owner;
    if (socket.destroyed) return false;
    const payload = body && body.length && !this.bodyless ? body : undefined;
    if (payload) this.bodyBytes += payload.length;
    if (this.chunked) {
      socket.cork();
      if (head) socket.write(head, 'latin1');
      if (payload) {
        socket.write(`${payload.length.toString(16)}\r\n`, 'latin1');
        socket.write(Buffer.from(payload));
        socket.write('\r\n', 'latin1');
      }
      if (last) socket.write(CHUNKED_END);
      socket.uncork();
      return socket.writableLength < socket.writableHighWaterMark;
    }
    // The caller's buffer may be reused once this returns (upstream read buffer): what the socket may keep is a copy.
    if (!payload) return head ? socket.write(head, 'latin1') : true;
    if (!head) return socket.write(Buffer.from(payload));
    if (head.length + payload.length <= JOIN_LIMIT) {
      return socket.write(head + payload.toString('latin1'), 'latin1');
    }
    socket.cork();
    socket.write(head, 'latin1');
    const ok = socket.write(Buffer.from(payload));
    socket.uncork();
    return ok;
  }
}
