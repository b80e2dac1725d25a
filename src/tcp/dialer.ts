import net from 'node:net';
import tls from 'node:tls';
import { proxyHeader } from './proxy-header';
import type { TcpConn } from './conn';
import { PG_SSL_REQUEST } from '../server/connection-router';

/** A TCP serversTransport made real: its files read, durations in ms. */
export interface TcpTransportOptions {
  dialTimeoutMs: number;
  /** TCP keep-alive probes on both sockets of a relayed connection, so a vanished peer is noticed; 0: off. */
  keepAliveMs: number;
  terminationDelayMs: number;
  proxyProtocol?: 1 | 2;
  tls: { serverName?: string; insecureSkipVerify: boolean; rootCAs?: string[]; certificates?: { cert: string; key: string }[]; peerCertURI?: string };
}

/** Traefik's defaults: 30 s to connect, keep-alive every 15 s, 100 ms for the second half of a close. */
export const TCP_TRANSPORT_DEFAULTS: TcpTransportOptions = { dialTimeoutMs: 30_000, keepAliveMs: 15_000, terminationDelayMs: 100, tls: { insecureSkipVerify: false } };


export class DialError extends Error {
  constructor(message: string, readonly refused: boolean) {
    super(message);
  }
}

function split(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/**
 * Connects to a server for `conn`: TCP within the dial timeout, then (in
 * this order) the PROXY header, PostgreSQL's STARTTLS for a passthrough
 * client whose request Portier answered, and TLS when the server has it.
 * Resolves with the socket ready for the client's bytes.
 */
export function dial(address: string, useTls: boolean, t: TcpTransportOptions, conn: TcpConn): Promise<net.Socket> {
  const { host, port } = split(address);
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host, port, noDelay: true });
    let settled = false;
    const fail = (err: Error, refused: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.destroy();
      reject(new DialError(`${address}: ${err.message}`, refused));
    };
    const timer = setTimeout(() => fail(new Error(`no connection within ${t.dialTimeoutMs} ms`), true), t.dialTimeoutMs);
    const onRawError = (err: Error): void => fail(err, true);
    raw.once('error', onRawError);
    raw.once('connect', () => {
      if (t.keepAliveMs > 0) raw.setKeepAlive(true, t.keepAliveMs);
      if (t.proxyProtocol) raw.write(proxyHeader(t.proxyProtocol, conn));
      const next = (): void => {
        if (!useTls) return ready(raw);
        const secure = tls.connect({
          socket: raw,
          servername: t.tls.serverName ?? (net.isIP(host) ? undefined : host),
          rejectUnauthorized: !t.tls.insecureSkipVerify,
          ca: t.tls.rootCAs,
          ...(t.tls.certificates?.[0] ?? {}),
          checkServerIdentity: t.tls.serverName || t.tls.peerCertURI ? (_h, cert) => identity(cert, t.tls.serverName ?? host, t.tls.peerCertURI) : undefined,
        });
        secure.once('error', (err) => fail(err, false));
        secure.once('secureConnect', () => ready(secure));
      };
      if (conn.postgresPassthrough) startTls(raw, next, (err) => fail(err, false));
      else next();
    });
    const ready = (socket: net.Socket): void => {
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('error');
      raw.off('error', onRawError);
      // Under TLS the relay watches the TLS socket; a fault of the one beneath must still end it, not the process.
      if (socket !== raw) raw.on('error', () => socket.destroy());
      resolve(socket);
    };
  });
}

/** Asks a PostgreSQL server for STARTTLS and swallows its `S`; anything else fails. */
function startTls(raw: net.Socket, next: () => void, fail: (err: Error) => void): void {
  raw.write(PG_SSL_REQUEST);
  raw.once('data', (b: Buffer) => {
    if (b.length < 1 || b[0] !== 0x53) return fail(new Error('the PostgreSQL server refused STARTTLS'));
    raw.pause();
    if (b.length > 1) raw.unshift(b.subarray(1));
    next();
  });
}

function identity(cert: tls.PeerCertificate, name: string, uri: string | undefined): Error | undefined {
  if (uri !== undefined) {
    const sans = (cert.subjectaltname ?? '').split(', ');
    return sans.includes(`URI:${uri}`) ? undefined : new Error(`the server's certificate does not name ${uri} (peerCertURI)`);
  }
  return tls.checkServerIdentity(name, cert);
}
