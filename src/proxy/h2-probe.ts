import http2 from 'node:http2';
import type { Transport } from './transport';

export interface H2ProbeAnswer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** At most this much of a probe's answer is kept: a health answer is small, anything else is not read further. */
const MAX_BODY = 64 * 1024;

/**
 * One HTTP/2 request on a session of its own (health checks: a pooled
 * session the server closed meanwhile would fail the check and take a
 * healthy server out). `target` is `h2c:`/`http:` (prior knowledge) or
 * `https:` (TLS with the transport's settings, ALPN h2). Resolves
 * undefined on any failure or when `signal` aborts.
 */
export function h2Request(
  transport: Transport,
  target: URL,
  req: { method: string; headers: http2.OutgoingHttpHeaders; body?: Buffer; authority?: string },
  signal: AbortSignal,
): Promise<H2ProbeAnswer | undefined> {
  const secure = target.protocol === 'https:';
  const authority = `${secure ? 'https' : 'http'}://${target.host}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer?: H2ProbeAnswer): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      session.destroy();
      resolve(answer);
    };
    const onAbort = (): void => finish();
    const session = http2.connect(authority, secure ? { ...transport.tlsFor(target.hostname), ALPNProtocols: ['h2'] } : {});
    session.on('error', () => finish());
    if (signal.aborted) return finish();
    signal.addEventListener('abort', onAbort);
    const stream = session.request({
      ':method': req.method,
      ':path': target.pathname + target.search,
      ':authority': req.authority ?? target.host,
      ':scheme': secure ? 'https' : 'http',
      ...req.headers,
    });
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    stream.on('trailers', (h) => (trailers = h));
    stream.on('data', (c: Buffer) => {
      if (size < MAX_BODY) chunks.push(c);
      size += c.length;
    });
    stream.on('error', () => finish());
    stream.on('end', () => finish({ status, headers, trailers, body: Buffer.concat(chunks) }));
    stream.end(req.body);
  });
}
