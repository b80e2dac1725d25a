import t from 'tap';
import { startPortierFromFiles } from '../helpers/portier';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';
import { httpsGet } from '../helpers/tls-clients';

/**
 * Traefik v2's redirect to HTTPS in the headers middleware (`sslRedirect`,
 * `sslTemporaryRedirect`, `sslHost`, `sslForceHost`, `sslProxyHeaders`),
 * through the real gateway with a plain and a TLS entrypoint, certificates
 * from the local CA made at test time.
 */
const dynamic = (echoUrl: string): string => `http:
  routers:
    redirect:
      rule: Host(\`redirect.shop.localhost\`)
      middlewares: [redirect]
      service: app
    redirect-tls:
      rule: Host(\`redirect.shop.localhost\`)
      middlewares: [redirect]
      service: app
      tls: {}
    temporary:
      rule: Host(\`temporary.shop.localhost\`)
      middlewares: [temporary]
      service: app
    moved:
      rule: Host(\`moved.shop.localhost\`)
      middlewares: [to-secure-host]
      service: app
    forced-tls:
      rule: Host(\`secure.shop.localhost\`) || Host(\`other.shop.localhost\`)
      middlewares: [forced]
      service: app
      tls: {}
    proxied:
      rule: Host(\`proxied.shop.localhost\`)
      middlewares: [proxied]
      service: app
    dev:
      rule: Host(\`dev.shop.localhost\`)
      middlewares: [dev]
      service: app
  middlewares:
    redirect:
      headers:
        sslRedirect: true
    temporary:
      headers:
        sslRedirect: true
        sslTemporaryRedirect: true
    to-secure-host:
      headers:
        sslRedirect: true
        sslHost: secure.shop.localhost
    forced:
      headers:
        sslForceHost: true
        sslHost: secure.shop.localhost
    proxied:
      headers:
        sslRedirect: true
        sslProxyHeaders:
          X-Forwarded-Ssl: "on"
    dev:
      headers:
        sslRedirect: true
        isDevelopment: true
  services:
    app:
      loadBalancer:
        servers:
          - url: ${echoUrl}
`;

const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:0
  websecure:
    address: 127.0.0.1:0
providers:
  file:
    filename: dynamic.yaml
    watch: false
dataDir: ./data
`;

interface Case {
  name: string;
  /** Over HTTPS to websecure (GET only), else plain HTTP to web. */
  tls?: boolean;
  host: string;
  method?: string;
  headers?: Record<string, string>;
  status: number;
  location?: string;
}

const cases: Case[] = [
  { name: 'sslRedirect: a plain GET is moved permanently, same host, path and query', host: 'redirect.shop.localhost', status: 301, location: 'https://redirect.shop.localhost/a/b?q=1' },
  { name: 'sslRedirect: the Host port is kept, as Traefik does', host: 'redirect.shop.localhost:8080', status: 301, location: 'https://redirect.shop.localhost:8080/a/b?q=1' },
  { name: 'sslRedirect: a plain POST keeps its method (308)', host: 'redirect.shop.localhost', method: 'POST', status: 308, location: 'https://redirect.shop.localhost/a/b?q=1' },
  { name: 'sslRedirect: an HTTPS request passes', tls: true, host: 'redirect.shop.localhost', status: 200 },
  { name: 'sslTemporaryRedirect: 302', host: 'temporary.shop.localhost', status: 302, location: 'https://temporary.shop.localhost/a/b?q=1' },
  { name: 'sslHost replaces the host', host: 'moved.shop.localhost', status: 301, location: 'https://secure.shop.localhost/a/b?q=1' },
  { name: 'sslForceHost: HTTPS to another host goes to sslHost', tls: true, host: 'other.shop.localhost', status: 301, location: 'https://secure.shop.localhost/a/b?q=1' },
  { name: 'sslForceHost: HTTPS to sslHost passes', tls: true, host: 'secure.shop.localhost', status: 200 },
  { name: 'sslProxyHeaders: a request marked as HTTPS by its proxy passes', host: 'proxied.shop.localhost', headers: { 'X-Forwarded-Ssl': 'on' }, status: 200 },
  { name: 'sslProxyHeaders: without the mark it is redirected', host: 'proxied.shop.localhost', headers: { 'X-Forwarded-Ssl': 'off' }, status: 301, location: 'https://proxied.shop.localhost/a/b?q=1' },
  { name: 'isDevelopment turns the redirect off', host: 'dev.shop.localhost', status: 200 },
];

t.test('headers.sslRedirect and friends, as in Traefik v2, with a deprecation warning', async (t) => {
  const echo = await startEchoBackend('ssl-app');
  t.teardown(() => echo.close());
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic(echo.url) });
  const gw = portier.gateway;
  const root = portier.tls.localCa()!.rootPem();
  for (const c of cases) {
    const reply = c.tls
      ? await httpsGet(gw.port('websecure'), c.host, root, '/a/b?q=1').then((r) => ({ status: r.status, location: r.headers.location, authorized: r.authorized }))
      : await request(`http://127.0.0.1:${gw.port('web')}/a/b?q=1`, { host: c.host, method: c.method, headers: c.headers }).then((r) => ({ status: r.status, location: r.headers.location, authorized: true }));
    t.equal(reply.status, c.status, `${c.name}: status`);
    if (c.location) t.equal(reply.location, c.location, `${c.name}: location`);
    t.ok(reply.authorized, `${c.name}: chain verified against the local root`);
  }

  const followed = await httpsGet(gw.port('websecure'), 'secure.shop.localhost', root, '/a/b?q=1');
  t.equal(JSON.parse(followed.body).url, '/a/b?q=1', 'the sslHost redirect leads to the TLS router, path and query intact');

  for (const name of ['redirect', 'temporary', 'to-secure-host', 'forced', 'proxied', 'dev']) {
    const m = gw.table.middlewares.get(`${name}@file`);
    t.equal(m?.status, 'warning', `${name}: enabled, marked warning`);
    t.match(m?.warnings, [/^http\.middlewares\.[\w-]+\.headers\.ssl\w+: deprecated in Traefik v2 and removed in v3 \(a redirectScheme middleware/], `${name}: the deprecation names the key`);
  }
});
