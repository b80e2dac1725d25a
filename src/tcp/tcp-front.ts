import type https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger';
import type { TcpMatch } from '../rules/tcp-matchers';
import { ClientHelloError, HELLO_INCOMPLETE, readClientHello, type ClientHello } from '../server/client-hello';
import { PG_SSL_REQUEST, peerOf, unmapped } from '../server/connection-router';
import type { TcpConn } from './conn';
import type { UsableTcpRouter } from './runtime';
import type { TcpTable } from './tcp-table';

/** What is told of TCP connections, for metrics. */
export interface TcpConnObserver {
  tcpOpened(entryPoint: string, router: string): void;
  tcpClosed(entryPoint: string, router: string, bytesIn: number, bytesOut: number): void;
}

export interface TcpFrontOptions {
  entryPoint: string;
  table: () => TcpTable;
  /** The entrypoint's TLS server options, when it can end TLS. */
  tls?: https.ServerOptions;
  log: Logger;
  /** Bound on a TLS handshake and on a PostgreSQL client's ClientHello after STARTTLS (the entrypoint's header timeout). */
  handshakeTimeoutMs: number;
  /** False when a PROXY header may come first: then no connection is routed before its first bytes. */
  mayRouteAtAccept: boolean;
  observers: TcpConnObserver[];
}

const ACME_TLS = 'acme-tls/1';

/**
 * An entrypoint's TCP routing, asked before HTTP at each step of the
 * connection router (as Traefik's TCP router wraps its HTTP handlers):
 * at accept (server-first protocols), on plaintext (``HostSNI(`*`)``, and
 * PostgreSQL's STARTTLS), and on a ClientHello (HostSNI, passthrough or
 * TLS ended here). Each method returns true when it took the connection.
 */
export class TcpFront {
  private server?: tls.Server;
  private readonly pending = new WeakMap<Socket, (secure: tls.TLSSocket) => void>();

  constructor(private readonly opts: TcpFrontOptions) {}

  /** A new connection, before any byte: taken when only plaintext TCP routers could want it. */
  accept(socket: Socket): boolean {
    const table = this.opts.table();
    if (!this.opts.mayRouteAtAccept || !table.routesAtAccept(this.opts.entryPoint)) return false;
    const router = table.matchPlain(this.opts.entryPoint, this.match(socket));
    if (!router) return false;
    this.serve(router, socket, socket, Buffer.alloc(0));
    return true;
  }

  /** A plaintext connection whose first bytes were read: a plaintext TCP router's, or a PostgreSQL STARTTLS. */
  plain(socket: Socket, first: Buffer): boolean {
    const table = this.opts.table();
    const ep = this.opts.entryPoint;
    if (first.length >= PG_SSL_REQUEST.length && first.subarray(0, 8).equals(PG_SSL_REQUEST) && table.hasTls(ep)) {
      socket.pause();
      this.postgres(socket, first.subarray(8));
      return true;
    }
    const router = table.matchPlain(ep, this.match(socket));
    if (!router) return false;
    socket.pause();
    this.serve(router, socket, socket, first);
    return true;
  }

  /** A ClientHello: a TLS TCP router's (passthrough, or TLS ended here), unless HTTPS keeps it. */
  tls(socket: Socket, hello: ClientHello, first: Buffer): boolean {
    if (hello.alpn.includes(ACME_TLS)) return false;
    const router = this.opts.table().matchTls(this.opts.entryPoint, this.match(socket, hello));
    if (!router) return false;
    socket.pause();
    this.take(router, socket, first, false);
    return true;
  }

  private take(router: UsableTcpRouter, socket: Socket, hello: Buffer, postgres: boolean): void {
    if (router.tls === 'passthrough') {
      this.serve(router, socket, socket, hello, postgres);
      return;
    }
    const server = this.tlsServer();
    if (!server) {
      this.opts.log.debug('connection refused', { peer: socket.remoteAddress, reason: `TCP router ${router.name} ends TLS on an entrypoint without TLS` });
      socket.destroy();
      return;
    }
    this.pending.set(socket, (secure) => this.serve(router, secure, socket, Buffer.alloc(0)));
    // Node's TLS socket reads what the raw socket has buffered before its own handle: the hello goes first.
    socket.unshift(hello);
    server.emit('connection', socket);
  }

  /** Ends TLS as HTTPS does (certificate by SNI), without ALPN: the bytes inside are not HTTP. */
  private tlsServer(): tls.Server | undefined {
    if (this.server || !this.opts.tls) return this.server;
    const { ALPNCallback: _alpn, ALPNProtocols: _protocols, ...options } = this.opts.tls;
    const server = tls.createServer({ ...options, handshakeTimeout: this.opts.handshakeTimeoutMs || 120_000 });
    server.on('secureConnection', (secure: tls.TLSSocket) => {
      const parent = (secure as tls.TLSSocket & { _parent?: Socket })._parent;
      const go = parent && this.pending.get(parent);
      if (!go) return secure.destroy();
      this.pending.delete(parent);
      go(secure);
    });
    server.on('tlsClientError', (err, secure) => {
      this.opts.log.debug('connection refused', { peer: secure.remoteAddress, reason: `TLS handshake failed: ${err.message}` });
      secure.destroy();
    });
    this.server = server;
    return server;
  }

  /**
   * PostgreSQL's STARTTLS, as Traefik answers it: `S`, then the client's
   * ClientHello is read and routed by TLS TCP routers only; with none, the
   * connection is closed.
   */
  private postgres(socket: Socket, rest: Buffer): void {
    let buf = rest;
    const timer = setTimeout(() => stop('no ClientHello after PostgreSQL STARTTLS within the header read timeout'), this.opts.handshakeTimeoutMs || 10_000);
    const detach = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
    };
    const stop = (reason: string): void => {
      detach();
      this.opts.log.debug('connection refused', { peer: socket.remoteAddress, reason });
      socket.destroy();
    };
    const onEnd = (): void => stop('closed during PostgreSQL STARTTLS');
    const onData = (data: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, data]) : data;
      let hello;
      try {
        hello = readClientHello(buf);
      } catch (err) {
        return stop(`not a TLS ClientHello after PostgreSQL STARTTLS: ${(err as ClientHelloError).message}`);
      }
      if (hello === HELLO_INCOMPLETE) return;
      detach();
      socket.pause();
      const router = this.opts.table().matchTls(this.opts.entryPoint, this.match(socket, hello), false);
      if (!router) return stop(`no TCP router for PostgreSQL SNI ${JSON.stringify(hello.serverName)}`);
      this.take(router, socket, buf, true);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
    socket.write('S');
    socket.resume();
    if (buf.length) onData(Buffer.alloc(0));
  }

  private match(socket: Socket, hello?: ClientHello): TcpMatch {
    return { serverName: hello?.serverName ?? '', alpn: hello?.alpn ?? [], clientIp: peerOf(socket)?.address ?? unmapped(socket.remoteAddress) };
  }

  private serve(router: UsableTcpRouter, client: Socket, raw: Socket, head: Buffer, postgresPassthrough = false): void {
    const { entryPoint, observers } = this.opts;
    const peer = peerOf(raw) ?? { address: unmapped(raw.remoteAddress), port: raw.remotePort ?? 0 };
    for (const o of observers) o.tcpOpened(entryPoint, router.name);
    let over = false;
    const conn: TcpConn = {
      socket: client, head, clientIp: peer.address, source: peer,
      destination: { address: unmapped(raw.localAddress), port: raw.localPort ?? 0 },
      postgresPassthrough, router: router.name, entryPoint,
      closed: (reason) => {
        if (over) return;
        over = true;
        if (reason) this.opts.log.debug('TCP connection closed', { router: router.name, peer: peer.address, reason });
        for (const o of observers) o.tcpClosed(entryPoint, router.name, client.bytesRead, client.bytesWritten);
      },
    };
    client.pause();
    // Now, not when relayed: a client that half-closes at once (no bytes, then FIN) is ended
    // by Node while the server is dialled otherwise, and its answer would have nowhere to go.
    client.allowHalfOpen = true;
    // Until the service relays it: a client that resets while the server is dialled must not crash the process.
    client.on('error', () => client.destroy());
    router.handler(conn);
  }
}
