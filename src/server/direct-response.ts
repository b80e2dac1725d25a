import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeader } from 'node:http';
import type { Socket } from 'node:net';
import { CLOSE_TOKEN } from '../proxy/response-parser';
import { PlainResponse } from './plain-response';

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
 * Beyond PlainResponse, one guarantee Node's lacks: it never keeps a chunk
 * it is given past the call (the upstream client hands it views of a
 * reused read buffer). `drain` comes from the socket (DirectConnection).
 */
export class DirectResponse extends PlainResponse {
  /** The head said `Connection: close`: the connection ends after this response. */
  closesConnection = false;
  /** Every chunk written is copied or sent before write() returns: a writer may hand it views it will reuse. */
  readonly keepsChunks = false;
  private chunked = false;
  /** Trailer field lines for the last chunk (addTrailers). */
  private trailerLines = '';

  constructor(
    private readonly owner: ResponseOwner,
    headRequest: boolean,
  ) {
    super(headRequest);
  }

  write(chunk: Buffer | string): boolean {
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.headersSent) return this.send(this.head(undefined), body);
    return this.send('', body);
  }

  /**
   * Trailers for the end of the body, as Node's addTrailers: sent when the
   * body goes chunked (a response whose head is still to go out then does,
   * even when its whole body is known), dropped otherwise. Their fields
   * come from the upstream response parser, which admits only valid ones.
   */
  addTrailers(trailers: IncomingHttpHeaders): void {
    for (const name in trailers) {
      const value = trailers[name];
      if (Array.isArray(value)) for (const v of value) this.trailerLines += `${name}: ${v}\r\n`;
      else if (value !== undefined) this.trailerLines += `${name}: ${value}\r\n`;
    }
  }

  end(chunk?: Buffer | string | (() => void)): this {
    if (this.writableFinished || this.closed) return this;
    const body = typeof chunk === 'function' || chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const head = this.headersSent ? '' : this.head(this.trailerLines ? undefined : body?.length ?? 0);
    this.send(head, body, true);
    this.writableFinished = true;
    this.owner.responseDone(this);
    return this;
  }

  destroy(): this {
    this.owner.socket.destroy();
    return this;
  }

  /** `knownLength`: the whole body, when the head goes out with it at the end. */
  private head(knownLength: number | undefined): string {
    this.headersSent = true;
    const status = this.statusCode;
    let out = `HTTP/1.1 ${status} ${this.statusMessage || STATUS_CODES[status] || 'unknown'}\r\n`;
    const list = this.received;
    let date = false;
    let length = false;
    let own: OutgoingHttpHeader | undefined;
    if (list) {
      // The upstream's own lines, as received: no Map, no entries to allocate.
      for (let i = 0; i < list.length; i += 2) {
        const name = list[i];
        out += `${name}: ${list[i + 1]}\r\n`;
        if (name === 'date') date = true;
        else if (name === 'content-length') length = true;
        else if (name === 'connection') own = list[i + 1];
      }
    } else {
      const { fields } = this;
      for (const [name, value] of fields) {
        if (Array.isArray(value)) for (const v of value) out += `${name}: ${v}\r\n`;
        else out += `${name}: ${value}\r\n`;
      }
      date = fields.has('date');
      length = fields.has('content-length');
      own = fields.get('connection');
    }
    if (!date) out += `Date: ${httpDate()}\r\n`;
    const { owner } = this;
    // As Node's server: a Connection field set on the response is sent as it is, and `close` in it is obeyed.
    if (own !== undefined) this.closesConnection = CLOSE_TOKEN.test(String(own));
    else if (owner.closing) {
      out += 'Connection: close\r\n';
      this.closesConnection = true;
    } else {
      out += 'Connection: keep-alive\r\n';
      if (owner.keepAliveSeconds) out += `Keep-Alive: timeout=${owner.keepAliveSeconds}\r\n`;
    }
    if (!this.bodyless && !length) {
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
      if (last) socket.write(this.trailerLines ? `0\r\n${this.trailerLines}\r\n` : CHUNKED_END, 'latin1');
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
