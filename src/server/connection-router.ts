import type { Socket } from 'node:net';
import { ClientHello, ClientHelloError, HELLO_INCOMPLETE, TLS_HANDSHAKE, readClientHello } from './client-hello';
import { NO_PROXY_HEADER, PROXY_INCOMPLETE, ProxyHeaderError, readProxyHeader } from './proxy-protocol';

/** Where a new connection goes once its first bytes are read. */
export interface ConnectionRoutes {
  /** Peers whose PROXY header is believed (`proxyProtocol.trustedIPs`); everyone else's closes the connection. */
  proxyTrusted(ip: string): boolean;
  /** How long the first bytes may take (the entrypoint's header timeout); 0: no bound. */
  readonly firstBytesTimeoutMs: number;
  /** A plaintext connection; `first` is every byte read after any PROXY header (all 8 of a PostgreSQL STARTTLS request). */
  plain(socket: Socket, first: Buffer): void;
  /** A plaintext connection that starts with the HTTP/2 preface (h2c with prior knowledge); `first` as for plain. */
  h2c(socket: Socket, first: Buffer): void;
  /** A connection that starts TLS; `first` holds the ClientHello's records and whatever followed them. */
  tls(socket: Socket, hello: ClientHello, first: Buffer): void;
  /** The connection is closed for `reason` (said once, by the entrypoint's log). */
  refused(socket: Socket, reason: string): void;
}

const PROXIED = Symbol('portier.proxiedPeer');

/** What a PostgreSQL client sends first to ask for TLS (length 8, code 80877103). */
export const PG_SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);

/** RFC 9113 3.4: what an HTTP/2 client sends first when it knows the server speaks HTTP/2 without TLS. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const PREFACE_INCOMPLETE = 'incomplete';

/** Whether plaintext bytes are HTTP/2's preface, HTTP/1, or too few to tell (a prefix of the preface). */
function plaintextKind(buf: Buffer): 'h2c' | 'http1' | typeof PREFACE_INCOMPLETE {
  // `P` starts HTTP/1 methods too (POST, PUT, PATCH): only the whole preface decides.
  if (buf[0] !== 0x50) return 'http1';
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.compare(H2_PREFACE, 0, n, 0, n) !== 0) return 'http1';
  return n === H2_PREFACE.length ? 'h2c' : PREFACE_INCOMPLETE;
}
type Peer = { address: string; port: number };

/**
 * The peer a connection speaks for: the PROXY header's source when a
 * trusted sender gave one, else the TCP peer. A TLS socket made on top of
 * a raw one reads its parent's.
 */
export function peerOf(socket: Socket): Peer | undefined {
  const own = (socket as Socket & { [PROXIED]?: Peer })[PROXIED];
  if (own) return own;
  const parent = (socket as Socket & { _parent?: Socket })._parent;
  return parent ? (parent as Socket & { [PROXIED]?: Peer })[PROXIED] : undefined;
}

/**
 * Reads the first bytes of a new connection and decides, in order: a PROXY
 * protocol header (v1 or v2; believed only from trusted peers, a closed
 * connection from anyone else), then a TLS ClientHello (SNI and ALPN read
 * before any handshake) or plaintext: the HTTP/2 preface, or HTTP/1. The decision costs one look at the
 * first read in the usual case; nothing here runs per request.
 */
export function routeConnection(socket: Socket, routes: ConnectionRoutes): void {
  let buf: Buffer | null = null;
  let proxyRead = false;
  const timer = routes.firstBytesTimeoutMs
    ? setTimeout(() => refuse('no request or ClientHello within the header read timeout'), routes.firstBytesTimeoutMs)
    : undefined;
  const detach = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
  };
  const refuse = (reason: string): void => {
    detach();
    routes.refused(socket, reason);
  };
  const onEnd = (): void => {
    detach();
    socket.destroy();
  };
  const onError = (): void => {
    detach();
    socket.destroy();
  };
  const onData = (data: Buffer): void => {
    buf = buf ? Buffer.concat([buf, data]) : data;
    if (!proxyRead) {
      let header;
      try {
        header = readProxyHeader(buf);
      } catch (err) {
        return refuse((err as ProxyHeaderError).message);
      }
      if (header === PROXY_INCOMPLETE) return;
      if (header !== NO_PROXY_HEADER) {
        if (!routes.proxyTrusted(unmapped(socket.remoteAddress))) return refuse(`PROXY header from ${socket.remoteAddress}, which is not in proxyProtocol.trustedIPs`);
        if (header.source) (socket as Socket & { [PROXIED]?: Peer })[PROXIED] = { address: unmapped(header.source.address), port: header.source.port };
        buf = buf.subarray(header.length);
      }
      proxyRead = true;
      if (buf.length === 0) return;
    }
    if (buf[0] !== TLS_HANDSHAKE) {
      // A part of PostgreSQL's STARTTLS request: the TCP routers decide on all 8 bytes (no HTTP starts with 0).
      if (buf.length < PG_SSL_REQUEST.length && PG_SSL_REQUEST.subarray(0, buf.length).equals(buf)) return;
      const kind = plaintextKind(buf);
      if (kind === PREFACE_INCOMPLETE) return;
      detach();
      return kind === 'h2c' ? routes.h2c(socket, buf) : routes.plain(socket, buf);
    }
    let hello;
    try {
      hello = readClientHello(buf);
    } catch (err) {
      return refuse(`not a TLS ClientHello: ${(err as ClientHelloError).message}`);
    }
    if (hello === HELLO_INCOMPLETE) return;
    detach();
    routes.tls(socket, hello, buf);
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
}

export const unmapped = (ip: string | undefined): string => (ip?.startsWith('::ffff:') ? ip.slice(7) : ip ?? '');
