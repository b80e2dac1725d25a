import t from 'tap';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { LocalCa } from '../../src/tls/local-ca';
import { startTestGateway } from '../helpers/gateway';
import { request } from '../helpers/http';

/**
 * HTTPS backends through the pooled upstream client: the certificate is
 * verified unless the service's serversTransport says insecureSkipVerify,
 * and keep-alive holds over TLS (one handshake for many requests).
 */
t.test('https servers: verified by default; insecureSkipVerify, rootCAs and serverName per transport; connections reused', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-upstream-tls-'));
  const ca = new LocalCa({ dataDir: dir });
  const leaf = ca.issue('backend.localhost');
  let handshakes = 0;
  const backend = https.createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`tls ${req.method} ${req.url} sni=${(req.socket as { servername?: string | false }).servername || '-'}`);
  });
  backend.keepAliveTimeout = 60_000;
  // A WebSocket endpoint on the same TLS server: answers 101 with the SNI it saw, then echoes.
  backend.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    const sni = (socket as { servername?: string | false }).servername || '-';
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Sni: ${sni}\r\n\r\n`);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => socket.destroy());
  });
  backend.on('secureConnection', () => handshakes++);
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const gw = await startTestGateway({
    http: {
      routers: {
        verified: { rule: 'Host(`verified.localhost`)', service: 'verified' },
        insecure: { rule: 'Host(`insecure.localhost`)', service: 'insecure' },
        private: { rule: 'Host(`private.localhost`)', service: 'private' },
        wrongname: { rule: 'Host(`wrongname.localhost`)', service: 'wrongname' },
        noca: { rule: 'Host(`noca.localhost`)', service: 'noca' },
      },
      services: {
        verified: { loadBalancer: { servers: [{ url }] } },
        insecure: { loadBalancer: { servers: [{ url }], serversTransport: 'skip' } },
        private: { loadBalancer: { servers: [{ url }], serversTransport: 'privateCa' } },
        wrongname: { loadBalancer: { servers: [{ url }], serversTransport: 'privateCaNoName' } },
        noca: { loadBalancer: { servers: [{ url }], serversTransport: 'missingCa' } },
      },
      serversTransports: {
        skip: { insecureSkipVerify: true },
        privateCa: { rootCAs: [ca.certFile], serverName: 'backend.localhost' },
        privateCaNoName: { rootCAs: [ca.certFile] },
        missingCa: { rootCAs: [join(dir, 'missing.pem')] },
      },
    },
  });
  t.teardown(async () => {
    await gw.close();
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { host: 'verified.localhost', status: 502, body: /Bad Gateway/, why: 'a certificate from an unknown CA is refused' },
    { host: 'insecure.localhost', status: 200, body: /^tls GET \/x\?q=1 sni=-$/, why: 'insecureSkipVerify accepts it; no SNI for an IP address' },
    { host: 'private.localhost', status: 200, body: /^tls GET \/x\?q=1 sni=backend\.localhost$/, why: 'rootCAs trusts the private CA; serverName is sent and checked' },
    { host: 'wrongname.localhost', status: 502, body: /Bad Gateway/, why: 'rootCAs without serverName: the certificate does not name 127.0.0.1' },
  ];
  for (const c of cases) {
    const r = await request(`${gw.url}/x?q=1`, { host: c.host });
    t.equal(r.status, c.status, `${c.host}: ${c.why}`);
    t.match(r.body, c.body, `${c.host}: body`);
  }

  const noca = gw.gateway.table.services.get('noca@file');
  t.match(noca?.errors.join('\n'), /serversTransports\.missingCa\.rootCAs\[0\]: cannot read .*missing\.pem/, 'an unreadable CA file disables its service, with the field at fault');
  t.equal((await request(`${gw.url}/x`, { host: 'noca.localhost' })).status, 404, 'whose router is then not served');

  const websocket = (host: string): Promise<string> =>
    new Promise((resolve) => {
      const req = http.request(gw.url, { headers: { host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } });
      req.on('upgrade', (res, socket) => {
        socket.write('ping');
        socket.once('data', (d) => {
          socket.destroy();
          resolve(`101 sni=${res.headers['x-sni']} echo=${d}`);
        });
      });
      req.on('response', (res) => resolve(String(res.statusCode)));
      req.on('error', (e) => resolve(e.message));
      req.end();
    });
  const wsCases = [
    { host: 'private.localhost', want: '101 sni=backend.localhost echo=ping', why: 'a WebSocket to a TLS server uses the transport too: private CA trusted, serverName sent' },
    { host: 'verified.localhost', want: '502', why: 'and is refused when the certificate is not trusted' },
  ];
  for (const c of wsCases) t.equal(await websocket(c.host), c.want, `WebSocket ${c.host}: ${c.why}`);

  const before = handshakes;
  for (let i = 0; i < 5; i++) t.equal((await request(`${gw.url}/again`, { host: 'insecure.localhost' })).status, 200, `request ${i + 1} over TLS`);
  t.equal(handshakes - before, 0, 'five more requests reuse the pooled TLS connection: no new handshake');
});
