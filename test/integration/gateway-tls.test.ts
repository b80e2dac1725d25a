import t from 'tap';
import https from 'node:https';
import tls from 'node:tls';
import { startPortierFromFiles } from '../helpers/portier';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

/** HTTPS GET that verifies the chain against `ca` and the name against `servername`. */
function httpsGet(port: number, servername: string, ca: string, path = '/'): Promise<{ status: number; body: string; cert: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername, path, ca, headers: { host: servername }, agent: false }, (res) => {
      const cert = (res.socket as tls.TLSSocket).getPeerCertificate();
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cert }));
    });
    req.on('error', reject);
  });
}

t.test('local HTTPS for *.localhost, TLS-only routers and the HTTP → HTTPS redirect, through the real gateway', async (t) => {
  const echo = await startEchoBackend('tls-app');
  const dynamic = `http:
  routers:
    app:
      rule: Host(\`app.shop.localhost\`)
      service: app
    secure-only:
      rule: Host(\`secure.shop.localhost\`)
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: ${echo.url}
`;
  const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:0
  redirecting:
    address: 127.0.0.1:0
    http:
      redirections:
        entryPoint:
          to: ":8443"
          scheme: https
          permanent: true
  websecure:
    address: 127.0.0.1:0
providers:
  file:
    filename: dynamic.yaml
    watch: false
dataDir: ./data
`;
  t.teardown(() => echo.close());
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic });
  const gw = portier.gateway;
  const root = portier.tls.localCa()!.rootPem();

  const started = Date.now();
  const first = await httpsGet(gw.port('websecure'), 'app.shop.localhost', root);
  t.equal(first.status, 200, 'HTTPS answers, chain verified against the local root');
  t.equal(JSON.parse(first.body).name, 'tls-app');
  t.same(first.cert.subjectaltname, 'DNS:app.shop.localhost', 'leaf issued for the host');
  t.ok(Date.now() - started < 2000, 'issued on the first handshake');
  t.equal(JSON.parse(first.body).headers['x-forwarded-proto'], 'https');

  const cases = [
    { name: 'plain router on web', port: gw.port('web'), host: 'app.shop.localhost', status: 200 },
    { name: 'TLS-only router is not served on plain HTTP', port: gw.port('web'), host: 'secure.shop.localhost', status: 404 },
    { name: 'redirect entrypoint', port: gw.port('redirecting'), host: 'app.shop.localhost', status: 301, location: 'https://app.shop.localhost:8443/a/b?q=1' },
  ];
  for (const c of cases) {
    const r = await request(`http://127.0.0.1:${c.port}/a/b?q=1`, { host: c.host });
    t.equal(r.status, c.status, c.name);
    if (c.location) t.equal(r.headers.location, c.location, `${c.name}: location`);
  }
  const secure = await httpsGet(gw.port('websecure'), 'secure.shop.localhost', root);
  t.equal(secure.status, 200, 'TLS-only router served over HTTPS');

  const certs = (await request(`http://127.0.0.1:${gw.port('web')}/`, { host: 'none.localhost' })).status;
  t.equal(certs, 404);
  t.match(portier.tls.certificates().map((c) => c.domains).flat(), ['app.shop.localhost', 'secure.shop.localhost'].map(String));
});
