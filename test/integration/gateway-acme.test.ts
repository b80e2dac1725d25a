/**
 * ACME end to end through the real gateway: a router with
 * `tls.certResolver` gets its certificate from a real pebble, which
 * validates HTTP-01 on the gateway's `web` entrypoint (before any router)
 * and TLS-ALPN-01 on `websecure` itself; the served chain then verifies
 * against pebble's root.
 */
import t from 'tap';
import https from 'node:https';
import tls from 'node:tls';
import * as acme from 'acme-client';
import { startPortierFromFiles } from '../helpers/portier';
import { requirePebble, startPebble } from '../helpers/pebble';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

function httpsGet(port: number, servername: string, ca: string): Promise<{ status: number; body: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, servername, ca, headers: { host: servername }, agent: false }, (res) => {
        const issuer = String((res.socket as tls.TLSSocket).getPeerCertificate().issuer.CN);
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, issuer }));
      })
      .on('error', reject);
  });
}

t.test('routers get ACME certificates from pebble through the gateway', async (t) => {
  if (!requirePebble(t)) return;
  const pebble = await startPebble();
  const echo = await startEchoBackend('acme-app');
  t.teardown(async () => {
    await echo.close();
    await pebble.stop();
  });
  const dynamic = `http:
  routers:
    api:
      rule: Host(\`api.portier.test\`)
      service: app
      tls:
        certResolver: le
    shop:
      rule: Host(\`shop.portier.test\`)
      service: app
      tls:
        certResolver: alpn
    plain:
      rule: Host(\`plain.portier.test\`)
      entryPoints: [web]
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${echo.url}
`;
  const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:${pebble.httpPort}
  websecure:
    address: 127.0.0.1:${pebble.tlsPort}
providers:
  file:
    filename: dynamic.yaml
    watch: false
certificatesResolvers:
  le:
    acme:
      email: ops@portier.test
      caServer: ${pebble.directoryUrl}
      storage: ./le.json
      httpChallenge:
        entryPoint: web
      caCertificates: [./pebble.pem]
  alpn:
    acme:
      caServer: ${pebble.directoryUrl}
      storage: ./alpn.json
      tlsChallenge: {}
      caCertificates: [./pebble.pem]
dataDir: ./data
`;
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic, 'pebble.pem': pebble.pebbleCertPem });

  const want = ['api.portier.test', 'shop.portier.test'];
  const deadline = Date.now() + 60_000;
  const issued = (): string[] => portier.tls.certificates().filter((c) => c.resolver !== 'local').flatMap((c) => c.domains);
  while (!want.every((d) => issued().includes(d)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.same(issued().sort(), want, 'both routers got certificates, and only the names they use');
  t.ok(pebble.httpValidations() > 0, 'pebble validated HTTP-01 on the web entrypoint');

  for (const host of want) {
    const r = await httpsGet(portier.gateway.port('websecure'), host, pebble.rootPem);
    t.equal(r.status, 200, `${host}: HTTPS verified against pebble's root`);
    t.match(r.issuer, /Pebble Intermediate CA/, `${host}: issued by pebble`);
  }
  t.equal((await request(`http://127.0.0.1:${pebble.httpPort}/`, { host: 'plain.portier.test' })).status, 200, 'plain routers still serve on web');
  t.equal((await request(`http://127.0.0.1:${pebble.httpPort}/`, { host: 'api.portier.test' })).status, 404, 'a TLS router is not served over plain HTTP');
});
