import type { Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from './gateway';
import { RawConn } from './raw-conn';
import { deadPort } from './dead-peers';

/**
 * Fixtures of the direct-path suites (test/integration/direct-path*.test.ts):
 * the plain request they send, the backends behind the gateway, and
 * startDirectGateway, the gateway with direct routers next to routers that
 * are not direct, whose checks assert a client's view plus the `web`
 * entrypoint's directStats delta.
 */

/** A GET (or other bodiless method) in the plain subset: keep-alive HTTP/1.1, Host first. */
export const plain = (path: string, host = 'direct.test', extra: string[] = [], method = 'GET'): string =>
  `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra.map((l) => `${l}\r\n`).join('')}\r\n`;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

// ---------------------------------------------------------------------------
// Backends.

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export const BIG = Buffer.alloc(5 * 1024 * 1024);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + (i >>> 13)) & 0xff;

/** The fixed answer of /fixed…: the same whatever the request, for parity checks. */
function fixed(res: http.ServerResponse, chunked: boolean): void {
  res.statusCode = 203;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('ETag', '"v1"');
  res.setHeader('Cache-Control', 'no-cache, private');
  res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
  res.setHeader('X-Spaced', 'one  two\tthree');
  res.setHeader('Vary', 'Accept-Encoding');
  if (!chunked) {
    res.end('parity body');
    return;
  }
  res.write('parity ');
  setTimeout(() => res.end('body, chunked'), 10);
}

export interface Backend {
  url: string;
  seen: Seen[];
  /** Requests to /slow whose connection closed before their response finished. */
  abandoned: string[];
  /** Requests to /slow currently waiting. */
  waiting: Set<string>;
  close(): Promise<void>;
}

/**
 * The backend behind the direct routers: /fixed and /fixed-chunked (see
 * fixed()), /status/<code>, /sized (Content-Length 11, HEAD-aware), /chunked
 * (three writes), /big (BIG), /conn-named (a Connection that names a field),
 * /slow?ms=&id= (answers late, records abandoned ids); anything else echoes
 * the request as JSON (Seen) with X-Backend: main.
 */
export async function startBackend(): Promise<Backend> {
  const seen: Seen[] = [];
  const abandoned: string[] = [];
  const waiting = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const record = { method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(record);
      const path = url.split('?')[0];
      const query = new URLSearchParams(url.split('?')[1] ?? '');
      if (path.startsWith('/fixed-chunked')) return fixed(res, true);
      if (path.startsWith('/fixed')) return fixed(res, false);
      if (path.startsWith('/status/')) {
        const status = Number(path.slice(8));
        res.writeHead(status, { 'x-status': String(status), ...(status === 304 ? { etag: '"e"' } : {}) });
        res.end(status === 204 || status === 304 ? undefined : `status ${status}`);
        return;
      }
      if (path === '/sized') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
        res.end(req.method === 'HEAD' ? undefined : 'hello world');
        return;
      }
      if (path === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1-');
        setTimeout(() => res.write('part2-'), 20);
        setTimeout(() => res.end('part3'), 40);
        return;
      }
      if (path === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG.length) });
        res.end(BIG);
        return;
      }
      if (path === '/conn-named') {
        res.writeHead(200, { connection: 'X-Secret', 'x-secret': 'hidden', 'keep-alive': 'timeout=99', 'x-visible': 'yes', 'content-length': '2' });
        res.end('ok');
        return;
      }
      if (path === '/slow') {
        const id = query.get('id') ?? url;
        waiting.add(id);
        const timer = setTimeout(() => res.end(`slow ${id}`), Number(query.get('ms') ?? 1000));
        res.once('close', () => {
          waiting.delete(id);
          clearTimeout(timer);
          if (!res.writableFinished) abandoned.push(id);
        });
        return;
      }
      // /echo and anything else: what the backend received.
      const payload = JSON.stringify(record);
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'main' });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen, abandoned, waiting,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A backend that answers every request with a close-delimited body (no Content-Length, no chunking). */
export async function startCloseDelimitedBackend(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n\r\n')) return;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited ');
      setTimeout(() => socket.end('body'), 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}


// ---------------------------------------------------------------------------
// The gateway.

/**
 * The `web` entrypoint's idleTimeout and readHeaderTimeout. The idle bound is
 * longer than any pause a loaded machine puts between two requests of one
 * connection in these tests (reading a 5 MB body took over a second under load).
 */
export const IDLE_MS = 3000;
export const HEADER_MS = 1000;

export interface DirectStats {
  requests: number;
  handOffs: number;
}

export interface DirectGateway {
  gw: TestGateway;
  /** Behind the routers direct, plainMw, directMw, mw, weighted and timeout. */
  backend: Backend;
  /** Runs `fn`, then checks the directStats delta. */
  counted<T>(tt: Test, expected: DirectStats, fn: () => Promise<T>, what?: string): Promise<T>;
  /** A raw connection to the gateway, destroyed at the end of `tt`. */
  open(tt: Test): Promise<RawConn>;
}

/**
 * A gateway (idleTimeout IDLE_MS, readHeaderTimeout HEADER_MS on `web`) whose
 * routers direct, plainMw (a plain `headers` middleware), raw (a
 * close-delimited backend), dead (nothing listening) and timeout
 * (responseHeaderTimeout 300ms) are plain, and directMw (same host as direct,
 * /fixed/mw, a middleware that is not plain), mw (the same) and weighted (a
 * weighted service) are not. Closed with its backends at the end of `t`.
 */
export async function startDirectGateway(t: Test): Promise<DirectGateway> {
  const backend = await startBackend();
  const closeDelimited = await startCloseDelimitedBackend();
  const dead = await deadPort();
  const lb = (url: string, extra: Record<string, unknown> = {}) => ({ loadBalancer: { servers: [{ url }], ...extra } });
  const gw = await startTestGateway(
    {
      http: {
        routers: {
          direct: { rule: 'Host(`direct.test`)', service: 'main' },
          plainMw: { rule: 'Host(`plain-mw.test`)', service: 'main', middlewares: ['hdr'] },
          // Same host, a middleware that is not plain on one prefix: that request leaves the direct path.
          directMw: { rule: 'Host(`direct.test`) && PathPrefix(`/fixed/mw`)', service: 'main', middlewares: ['noop'] },
          mw: { rule: 'Host(`mw.test`)', service: 'main', middlewares: ['noop'] },
          weighted: { rule: 'Host(`weighted.test`)', service: 'weighted' },
          raw: { rule: 'Host(`raw.test`)', service: 'raw' },
          dead: { rule: 'Host(`dead.test`)', service: 'dead' },
          timeout: { rule: 'Host(`timeout.test`)', service: 'quick' },
        },
        services: {
          main: lb(backend.url),
          weighted: { weighted: { services: [{ name: 'main', weight: 1 }] } },
          raw: lb(closeDelimited.url),
          dead: lb(`http://127.0.0.1:${dead}`),
          quick: lb(backend.url, { serversTransport: 'quick' }),
        },
        // contentType wraps write() (not plain) and does nothing with autoDetect off: only its presence matters.
        middlewares: { noop: { contentType: { autoDetect: false } }, hdr: { headers: { customResponseHeaders: { 'x-plain-mw': 'yes' }, customRequestHeaders: { 'x-to-backend': 'yes' } } } },
        serversTransports: { quick: { forwardingTimeouts: { responseHeaderTimeout: '300ms' } } },
      },
    },
    {
      staticConfig: {
        entryPoints: { web: { address: '127.0.0.1:0', transport: { respondingTimeouts: { idleTimeout: `${IDLE_MS}ms`, readHeaderTimeout: `${HEADER_MS}ms` } } } },
      },
    },
  );
  t.teardown(async () => {
    await gw.close();
    await backend.close();
    await closeDelimited.close();
  });

  const stats = (): DirectStats => ({ ...gw.gateway.directStats('web')! });
  async function counted<T>(tt: Test, expected: DirectStats, fn: () => Promise<T>, what = 'directStats delta'): Promise<T> {
    const before = stats();
    const out = await fn();
    const after = stats();
    tt.same({ requests: after.requests - before.requests, handOffs: after.handOffs - before.handOffs }, expected, what);
    return out;
  }
  const open = async (tt: Test): Promise<RawConn> => {
    const conn = await RawConn.open(gw.port);
    tt.teardown(() => conn.destroy());
    return conn;
  };
  return { gw, backend, counted, open };
}
