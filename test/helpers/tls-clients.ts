/**
 * TLS clients for the tls-* tests: one HTTPS request or handshake against
 * 127.0.0.1 with a chosen SNI and trust anchor, reporting what a user's
 * client would see.
 */
import type http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import crypto from 'node:crypto';

export interface HttpsResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  authorized: boolean;
  /** The served leaf certificate. */
  cert: crypto.X509Certificate;
}

export function httpsGet(port: number, servername: string, ca: string | string[], path = '/'): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername, ca, path, agent: false, timeout: 10_000, headers: { host: servername } }, (res) => {
      const sock = res.socket as tls.TLSSocket;
      const cert = new crypto.X509Certificate(sock.getPeerCertificate(false).raw);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, authorized: sock.authorized, cert }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export interface Handshake {
  ok: boolean;
  error?: string;
  alpn?: string | false;
  cert?: crypto.X509Certificate;
}

/** A bare handshake without verification: which certificate does the server pick? */
export function handshake(port: number, servername: string | undefined, opts: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...opts });
    const done = (h: Handshake): void => {
      sock.destroy();
      resolve(h);
    };
    sock.setTimeout(10_000, () => done({ ok: false, error: 'timeout' }));
    sock.once('secureConnect', () => {
      const raw = sock.getPeerCertificate(false)?.raw;
      done({ ok: true, alpn: sock.alpnProtocol ?? undefined, cert: raw ? new crypto.X509Certificate(raw) : undefined });
    });
    sock.once('error', (err) => done({ ok: false, error: err.message }));
  });
}
