import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import http2, { type ServerHttp2Stream } from 'node:http2';
import { PlainResponse } from './plain-response';

/**
 * The response of a plain HTTP/2 stream (h2-front.ts), sent with the
 * stream's own calls (`respond`, `write`, `end`) instead of Node's
 * compatibility response, which costs a writable stream, header maps and,
 * since it always waits for trailers, an empty DATA frame per response.
 * The head goes out at writeHead, as the compatibility API sends it, so
 * a field HTTP/2 refuses (a repeated Content-Type) throws where the
 * upstream call turns it into a 502; Node adds `date`. A response without
 * a body is one HEADERS frame (END_STREAM); a body given to end() leaves
 * with the head, in the same write. Trailers (an HTTP/2 backend's, gRPC's)
 * are sent when the head was told to wait for them (expectTrailers) or
 * when they came before it. `http2` marks it for isH2Response.
 */
export class H2Response extends PlainResponse {
  readonly http2 = true;
  private drainAwaited = false;
  /** The stream's writable side is over: the body was ended here, or Node ended it at a bodyless head. */
  private ended = false;
  private trailersExpected = false;
  private trailers: OutgoingHttpHeaders | null = null;

  constructor(
    readonly stream: ServerHttp2Stream,
    headRequest: boolean,
  ) {
    super(headRequest);
  }

  override writeHead(status: number, reasonOrHeaders?: string | OutgoingHttpHeaders, headers?: OutgoingHttpHeaders): this {
    super.writeHead(status, reasonOrHeaders, headers);
    this.respond(false);
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.writableEnded) return false;
    if (!this.headersSent) this.respond(false);
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.ended || body.length === 0 || this.stream.destroyed) return true;
    this.bodyBytes += body.length;
    return this.stream.write(body);
  }

  end(chunk?: Buffer | string | (() => void)): this {
    if (this.writableEnded) return this;
    const body = typeof chunk === 'function' || chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const payload = body?.length && !this.bodyless ? body : undefined;
    if (!this.headersSent) this.respond(payload === undefined);
    this.writableFinished = true;
    if (this.ended || this.stream.destroyed) return this;
    this.ended = true;
    if (payload) {
      this.bodyBytes += payload.length;
      this.stream.end(payload);
    } else this.stream.end();
    return this;
  }

  /**
   * The response may end with trailers: its head (not sent yet) asks Node
   * to wait for them, and the body then ends with an empty DATA frame
   * when none come.
   */
  expectTrailers(): void {
    this.trailersExpected = true;
  }

  /** Trailers to send after the body, as Node's addTrailers; dropped when the head did not wait for them. */
  addTrailers(trailers: IncomingHttpHeaders): void {
    this.trailers = { ...this.trailers, ...trailers };
  }

  /** As the compatibility response's: the stream is reset; its `close` follows. */
  destroy(): this {
    this.stream.destroy();
    return this;
  }

  protected override awaitDrain(): void {
    if (this.drainAwaited) return;
    this.drainAwaited = true;
    this.stream.once('drain', () => {
      this.drainAwaited = false;
      this.drained();
    });
  }

  /**
   * Sends the head. Node ends the writable side itself when `endStream` is
   * asked, for a HEAD request, and for 204 and 304; a stream the client
   * already reset gets nothing, as with the compatibility response. A head
   * Node refuses is not sent and its fields are dropped, so the error
   * answer that follows goes out with its own alone.
   */
  private respond(endStream: boolean): void {
    if (this.headersSent) return;
    const { stream } = this;
    if (stream.destroyed || stream.closed) {
      this.headersSent = true;
      return;
    }
    const headers: OutgoingHttpHeaders = { ':status': this.statusCode };
    this.fields.forEach(copyField, headers);
    const bodyless = endStream || this.bodyless;
    const waitForTrailers = !bodyless && (this.trailersExpected || this.trailers !== null);
    try {
      stream.respond(headers, { endStream: bodyless, waitForTrailers });
    } catch (err) {
      this.fields.clear();
      throw err;
    }
    this.headersSent = true;
    if (bodyless) this.ended = true;
    if (waitForTrailers) stream.once('wantTrailers', () => this.sendTrailers());
  }

  private sendTrailers(): void {
    try {
      this.stream.sendTrailers(this.trailers ?? {});
    } catch {
      // A trailer HTTP/2 refuses: the client must not take the body for complete.
      this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    }
  }
}

/** Map.forEach's callback for respond(): no entry arrays, no closure. */
function copyField(this: OutgoingHttpHeaders, value: OutgoingHttpHeader, name: string): void {
  this[name] = value;
}
