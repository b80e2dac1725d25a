import net from 'node:net';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Status codes of the responses in `raw`, in order (a body may run straight into the next status line). */
function statusesOf(raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.[01] (\d{3}) [^\r\n]*\r\n/g)].map((m) => Number(m[1]));
}

export interface RawReply {
  /** Status of every response the gateway sent on this connection, in order. */
  statuses: number[];
  /** Everything received, as latin1. */
  raw: string;
  /** The gateway closed the connection (false: still open when the wait ran out). */
  closed: boolean;
}

/**
 * Writes `bytes` as they are (no HTTP library in between) and collects what
 * comes back until the gateway closes the connection, `quietMs` pass without
 * data after a response began (a kept-alive connection; a pipelined,
 * smuggled second response would have arrived by then), or `timeoutMs`.
 * The client never half-closes: Node and Go servers abort in-flight requests
 * of a client that does.
 */
export function sendRaw(port: number, bytes: string | Buffer, opts: { timeoutMs?: number; quietMs?: number } = {}): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const statuses = statusesOf(raw);
      resolve({ statuses, raw, closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    let quiet: NodeJS.Timeout | undefined;
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), opts.quietMs ?? 300);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    });
  });
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: string;
  complete: boolean;
}

export interface CountingBackend {
  url: string;
  /** Requests whose head reached the backend; `complete` once their body ended. */
  seen: SeenRequest[];
  /** Open connections to the backend right now. */
  connections(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A backend that records every request head it receives, and whether its
 * body completed. A request with `X-Delay-Ms` is answered that much later.
 */
export async function startCountingBackend(): Promise<CountingBackend> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const record: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, trailers: {}, body: '', complete: false };
    seen.push(record);
    req.setEncoding('latin1');
    req.on('data', (d: string) => (record.body += d));
    req.on('error', () => undefined);
    req.on('end', () => {
      record.complete = true;
      record.trailers = req.trailers;
      const delay = Number(req.headers['x-delay-ms'] ?? 0);
      const answer = (): void => {
        if (!res.destroyed) res.end(JSON.stringify({ url: record.url }));
      };
      if (delay > 0) setTimeout(answer, delay).unref();
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    connections: () => new Promise((r, j) => server.getConnections((err, n) => (err ? j(err) : r(n)))),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Trickled {
  statuses: number[];
  /** Milliseconds from connecting until the gateway closed the connection; null if it never did within `maxMs`. */
  closedAfterMs: number | null;
}

/**
 * A slow client: sends `first`, then `perTick` bytes of `drip` every
 * `everyMs` (cycling), until the gateway closes the connection or `maxMs`
 * passes.
 */
export function trickle(port: number, first: string, drip: string, everyMs: number, maxMs: number, perTick = 1): Promise<Trickled> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let i = 0;
    let interval: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearInterval(interval);
      clearTimeout(limit);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ statuses: statusesOf(raw), closedAfterMs: closed ? Date.now() - started : null });
    };
    const limit = setTimeout(() => finish(false), maxMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('error', () => finish(true));
    socket.once('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(first);
      interval = setInterval(() => {
        for (let n = 0; n < perTick && drip.length && socket.writable; n++) socket.write(drip[i++ % drip.length]);
      }, everyMs);
    });
  });
}
