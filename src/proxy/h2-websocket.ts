import crypto from 'node:crypto';
import http2 from 'node:http2';
import type { IncomingHttpHeaders } from 'node:http';
import { Duplex } from 'node:stream';

const { NGHTTP2_CANCEL } = http2.constants;
/** What of a backend's 101 answer an RFC 8441 client needs (RFC 8441 section 5): the subprotocol and extensions it accepted. */
const KEPT_101_FIELDS = new Set(['sec-websocket-protocol', 'sec-websocket-extensions']);
const MAX_HEAD = 16 * 1024;

/**
 * The fields of a WebSocket over HTTP/2 request (RFC 8441 extended
 * CONNECT, `:protocol websocket`) as the HTTP/1.1 Upgrade request the
 * backend gets: Upgrade and Connection, and a fresh Sec-WebSocket-Key
 * (HTTP/2 has none: the stream itself is the handshake). The client's
 * Sec-WebSocket-Version, -Protocol and -Extensions pass on as they are.
 */
export function asUpgradeFields(headers: IncomingHttpHeaders): void {
  headers.upgrade = 'websocket';
  headers.connection = 'upgrade';
  headers['sec-websocket-key'] = crypto.randomBytes(16).toString('base64');
  headers['sec-websocket-version'] ??= '13';
}

/**
 * One HTTP/2 stream seen as the socket of an HTTP/1.1 upgrade, so that
 * the WebSocket proxying every upgrade goes through serves it unchanged:
 * the first bytes written to it, an HTTP/1.1 response head, become the
 * stream's response (101 Switching Protocols → 200, RFC 8441; any other
 * status as is, with its body), and from then on bytes pass both ways.
 */
export class H2UpgradeSocket extends Duplex {
  private head: Buffer | null = Buffer.alloc(0);

  constructor(private readonly stream: http2.ServerHttp2Stream) {
    super({ allowHalfOpen: false });
    stream.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stream.pause();
    });
    stream.once('end', () => this.push(null));
    stream.once('close', () => this.destroy());
    stream.on('error', () => undefined);
  }

  // What an upgraded connection's socket is asked for (http-proxy sets them); a stream has no such options.
  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  override _read(): void {
    this.stream.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.head === null) {
      this.stream.write(chunk, cb);
      return;
    }
    const head = Buffer.concat([this.head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD) return cb(new Error('upgrade answer head too large'));
      this.head = head;
      return cb();
    }
    this.head = null;
    try {
      this.respond(head.subarray(0, end).toString('latin1'));
    } catch (err) {
      return cb(err as Error);
    }
    const rest = head.subarray(end + 4);
    if (rest.length) this.stream.write(rest, cb);
    else cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.stream.destroyed) this.stream.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.stream.destroyed && !this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
    cb(err);
  }

  /** An HTTP/1.1 response head as the stream's response. */
  private respond(text: string): void {
    const [statusLine, ...lines] = text.split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 502);
    const headers: http2.OutgoingHttpHeaders = { ':status': status === 101 ? 200 : status };
    for (const line of lines) {
      const at = line.indexOf(':');
      if (at <= 0) continue;
      const name = line.slice(0, at).trim().toLowerCase();
      if (status !== 101 ? !['connection', 'upgrade', 'keep-alive', 'transfer-encoding'].includes(name) : KEPT_101_FIELDS.has(name)) headers[name] = line.slice(at + 1).trim();
    }
    this.stream.respond(headers);
  }
}
