import http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Exchange } from './exchange';
import type { Origin } from './upstream-pool';
import { CallOptions, UpstreamFailure } from './upstream-call';
import { CONNECTION_SPECIFIC } from './hop-by-hop';
import type { H2Session, H2Sessions } from './h2-sessions';
import { GRPC_STATUS, grpcTimeoutMs, isGrpc } from './grpc';
import { isH2Response } from '../server/node-response';
import { PlainResponse } from '../server/plain-response';
import { readsTrailers } from './trailers';
import { errorMessage } from '../errors';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** The request's fields as HTTP/2 takes them: pseudo-headers from the exchange, no connection-specific fields (RFC 9113 8.2.2). */
function requestHeaders(ex: Exchange, origin: Origin, passHostHeader: boolean): OutgoingHttpHeaders {
  const { req } = ex;
  const given = req.headers;
  const out: OutgoingHttpHeaders = {
    ':method': req.method ?? 'GET',
    ':scheme': origin.tls ? 'https' : 'http',
    ':authority': passHostHeader && given.host ? given.host : origin.hostHeader,
    ':path': origin.basePath + (ex.query ? `${ex.path}?${ex.query}` : ex.path),
  };
  for (const name in given) {
    const value = given[name];
    if (value === undefined || name === 'host' || CONNECTION_SPECIFIC.has(name) || name.charCodeAt(0) === 0x3a) continue;
    out[name] = value;
  }
  // gRPC servers may insist on it (it says the client reads trailers); HTTP/1 clients never send it for gRPC.
  if (isGrpc(req)) out.te = 'trailers';
  return out;
}

/** Response fields as an HTTP/1 or HTTP/2 response takes them: no pseudo-headers, nothing connection-specific. */
function responseFields(headers: http2.IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in headers) if (name.charCodeAt(0) !== 0x3a && !CONNECTION_SPECIFIC.has(name)) out[name] = headers[name] as string | string[];
  return out;
}

/**
 * One request forwarded as a stream of an upstream HTTP/2 session (an
 * `h2c:` server, or an `https:` one whose ALPN chose h2): the client's
 * body streams up with backpressure and its trailers follow; the response
 * streams back as it arrives (gRPC streams must not wait for a flush
 * interval), its trailers (`grpc-status`) forwarded. A trailers-only
 * response (a gRPC error) stays one. `grpc-timeout` bounds the call.
 * `done` once, as UpstreamCall's: with an UpstreamFailure while nothing
 * was written to the client.
 */
export class UpstreamH2Call {
  private stream?: http2.ClientHttp2Stream;
  private committed = false;
  private settled = false;
  private responded = false;
  private headerTimer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;

  constructor(
    private readonly ex: Exchange,
    private readonly origin: Origin,
    private readonly sessions: H2Sessions,
    private readonly opts: CallOptions,
    private readonly done: (err?: Error) => void,
    /** The server's ALPN chose HTTP/1.1: the request goes through the HTTP/1.1 client instead. */
    private readonly viaHttp1: () => void,
  ) {}

  start(): void {
    let headers: OutgoingHttpHeaders;
    try {
      headers = requestHeaders(this.ex, this.origin, this.opts.passHostHeader);
    } catch (err) {
      return this.settle(new UpstreamFailure('UPSTREAM_INVALID', false, false, err));
    }
    if (this.ex.startedAt) this.ex.origin.startedAt = process.hrtime.bigint();
    this.ex.res.on('close', () => this.clientLeft());
    const ms = isGrpc(this.ex.req) ? grpcTimeoutMs(this.ex.req.headers['grpc-timeout']) : undefined;
    if (ms !== undefined) this.deadline = setTimeout(() => this.deadlinePassed(), ms);
    this.sessions.acquire(this.origin, (err, got) => {
      if (this.settled) return;
      if (err) return this.settle(new UpstreamFailure(err.timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_REFUSED', true, false, err));
      if (got === 'http/1.1') {
        clearTimeout(this.deadline);
        this.settled = true;
        return this.viaHttp1();
      }
      this.send(got!, headers);
    });
  }

  private send(s: H2Session, headers: OutgoingHttpHeaders): void {
    const { req } = this.ex;
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = s.session.request(headers, { endStream: !hasBody, waitForTrailers: hasBody });
    } catch (err) {
      // A GOAWAY that arrived in between, or a field HTTP/2 refuses.
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (/GOAWAY|SESSION|DESTROYED/.test(code)) return this.settle(new UpstreamFailure('UPSTREAM_REFUSED', false, true, err));
      return this.settle(new UpstreamFailure('UPSTREAM_INVALID', false, false, new Error(`cannot forward: ${errorMessage(err)}`)));
    }
    this.stream = stream;
    s.streamOpened();
    stream.once('close', () => {
      s.streamClosed();
      this.streamClosed(stream);
    });
    stream.on('error', () => undefined);
    stream.once('response', (h, flags) => this.onResponse(h, flags));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.ended());
    if (hasBody) this.sendBody(stream);
    else this.requestSent();
  }

  /** The client's body, with backpressure both ways, then its trailers (if any) as the request's. */
  private sendBody(stream: http2.ClientHttp2Stream): void {
    const { req } = this.ex;
    const onData = (chunk: Buffer): void => {
      if (!stream.write(chunk)) req.pause();
    };
    req.on('data', onData);
    stream.on('drain', () => req.resume());
    stream.once('close', () => req.off('data', onData));
    stream.once('wantTrailers', () => {
      const trailers = req.trailers && Object.keys(req.trailers).length ? responseFields(req.trailers) : {};
      try {
        stream.sendTrailers(trailers);
      } catch {
        stream.close(NGHTTP2_INTERNAL_ERROR);
      }
    });
    req.once('end', () => {
      if (stream.destroyed) return;
      stream.end();
      this.requestSent();
    });
    req.resume();
  }

  /** As Go's ResponseHeaderTimeout: counted from the end of the request body. */
  private requestSent(): void {
    const ms = this.opts.responseHeaderTimeoutMs;
    if (ms > 0 && !this.responded) this.headerTimer = setTimeout(() => this.timeout(), ms);
  }

  private onResponse(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number): void {
    clearTimeout(this.headerTimer);
    this.responded = true;
    const status = Number(headers[':status']);
    const { ex } = this;
    ex.origin.status = status;
    const fields = responseFields(headers);
    const res = ex.res;
    // A plain HTTP/2 client's response (H2Response) waits for the trailers only when asked: this one may have some.
    if (!(flags & NGHTTP2_FLAG_END_STREAM)) (res as { expectTrailers?: () => void }).expectTrailers?.();
    try {
      for (const name in fields) {
        const value = fields[name];
        if (value === undefined) continue;
        if (name === 'set-cookie') res.appendHeader(name, value);
        else res.setHeader(name, value);
      }
      for (const hook of ex.responseHooks) hook(status, res, ex);
      res.statusCode = status;
      // A trailers-only response (headers with END_STREAM, as gRPC errors come) is sent as one at the end.
      if (!(flags & NGHTTP2_FLAG_END_STREAM)) res.writeHead(status);
    } catch (err) {
      this.stream?.close(NGHTTP2_CANCEL);
      return this.settle(new UpstreamFailure('UPSTREAM_INVALID', false, false, new Error(`response head not accepted: ${errorMessage(err)}`)));
    }
    this.committed = true;
    this.stream!.once('trailers', (t) => this.onTrailers(t));
  }

  private onTrailers(trailers: http2.IncomingHttpHeaders): void {
    const res = this.ex.res as { addTrailers?: (t: IncomingHttpHeaders) => void };
    // An HTTP/1 response sends trailers only when chunked (Node's rule). Node's responses get them whatever the
    // client said (grpcWeb reads them there); Portier's own (the direct path's) when the client reads trailers.
    if (typeof res.addTrailers === 'function' && (!(res instanceof PlainResponse) || readsTrailers(this.ex))) res.addTrailers(responseFields(trailers));
  }

  private onData(chunk: Buffer): void {
    if (this.settled) return;
    this.ex.origin.bytes += chunk.length;
    const stream = this.stream!;
    if (!this.ex.res.write(chunk)) {
      stream.pause();
      this.ex.res.once('drain', () => stream.resume());
    }
  }

  /** The whole response was read (its trailers came before). */
  private ended(): void {
    if (this.settled || !this.committed) return;
    this.settle();
    this.ex.res.end();
  }

  /** The upstream stream is over before its end was read: reset, or cut with its session. */
  private streamClosed(stream: http2.ClientHttp2Stream): void {
    clearTimeout(this.headerTimer);
    if (this.settled) return;
    const err = new Error(`upstream stream closed (code ${stream.rstCode ?? 'none'})`);
    if (!this.committed) {
      // REFUSED_STREAM (or a GOAWAY that left it out): the server never processed it, so it may go elsewhere.
      const refused = stream.rstCode === NGHTTP2_REFUSED_STREAM;
      return this.settle(new UpstreamFailure('UPSTREAM_REFUSED', false, refused, err));
    }
    this.abortClient();
    this.settle();
  }

  private timeout(): void {
    if (this.settled || this.responded) return;
    this.stream?.close(NGHTTP2_CANCEL);
    this.settle(new UpstreamFailure('UPSTREAM_TIMEOUT', false, false, new Error('response timeout')));
  }

  /** `grpc-timeout` passed: the upstream stream is cancelled; a client already answered gets DEADLINE_EXCEEDED as trailers. */
  private deadlinePassed(): void {
    if (this.settled) return;
    this.stream?.close(NGHTTP2_CANCEL);
    if (!this.committed) return this.settle(new UpstreamFailure('UPSTREAM_TIMEOUT', false, false, new Error('grpc-timeout passed')));
    const res = this.ex.res as { addTrailers?: (t: Record<string, string>) => void; end(): void };
    this.settle();
    res.addTrailers?.({ 'grpc-status': String(GRPC_STATUS.DEADLINE_EXCEEDED), 'grpc-message': 'deadline exceeded' });
    res.end();
  }

  /** After the head went out, the only honest signal is to reset the client's stream (HTTP/2) or cut its connection. */
  private abortClient(): void {
    const res = this.ex.res;
    if (isH2Response(res)) (res as unknown as http2.Http2ServerResponse).stream.close(NGHTTP2_INTERNAL_ERROR);
    else res.destroy();
  }

  private clientLeft(): void {
    if (this.settled) return;
    this.stream?.close(NGHTTP2_CANCEL);
    this.settle();
  }

  private settle(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.headerTimer);
    clearTimeout(this.deadline);
    const { origin } = this.ex;
    if (origin.startedAt) origin.durationNs = Number(process.hrtime.bigint() - origin.startedAt);
    this.done(err);
  }
}
