/**
 * ACME issuance against a real pebble: HTTP-01 on a plain listener and
 * TLS-ALPN-01 on the HTTPS listener itself, then real HTTPS requests that
 * validate the served chain against pebble's root; a restart reuses the
 * storage file without a new order.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager, RouterTls } from '../../src/tls';
import { requirePebble, startPebble } from '../helpers/pebble';
import { httpsGet, handshake } from '../helpers/tls-clients';

// Transport errors would otherwise be retried silently for 75 s (recipe, gotcha 6).
Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

const listen = (server: http.Server, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

t.test('ACME against pebble', async (t) => {
  if (!requirePebble(t)) return;
  const pebble = await startPebble();
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-acme-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const caFile = path.join(dir, 'pebble-https.pem');
  fs.writeFileSync(caFile, pebble.pebbleCertPem);

  const resolvers = {
    le: { acme: { email: 'ops@portier.test', caServer: pebble.directoryUrl, storage: path.join(dir, 'le.json'), httpChallenge: { entryPoint: 'web' }, caCertificates: [caFile] } },
    alpn: { acme: { caServer: pebble.directoryUrl, storage: path.join(dir, 'alpn.json'), tlsChallenge: {}, keyType: 'EC384', caCertificates: [caFile] } },
  };
  const routers: RouterTls[] = [
    { name: 'api', hosts: ['api.portier.test'], tls: { certResolver: 'le' } },
    { name: 'web', hosts: ['web.portier.test', 'www.portier.test'], tls: { certResolver: 'le' } },
    { name: 'shop', hosts: ['shop.portier.test'], tls: { certResolver: 'alpn', domains: [{ main: 'shop.portier.test', sans: ['cart.portier.test'] }] } },
    { name: 'blog', hosts: ['blog.portier.test'], tls: { certResolver: 'alpn' } },
    { name: 'plain', hosts: ['plain.portier.test'], tls: {} },
  ];
  const tuning = { pollBackoffMinMs: 50, pollBackoffMaxMs: 500 };

  // One gateway "process": listeners on pebble's challenge ports, built from the manager.
  const boot = async (): Promise<{ manager: TlsManager; close: () => Promise<void> }> => {
    const manager = new TlsManager({ resolvers, dataDir: dir, tuning });
    const web = http.createServer((req, res) => {
      if (!manager.challengeResponder(req, res)) res.writeHead(404).end();
    });
    const secure = https.createServer(manager.httpsServerOptions(), (req, res) => res.end(`hello ${req.headers.host}`));
    manager.attach(secure);
    await listen(web, pebble.httpPort);
    await listen(secure, pebble.tlsPort);
    const close = async (): Promise<void> => {
      await manager.close();
      for (const s of [web, secure]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    };
    return { manager, close };
  };

  let { manager, close } = await boot();
  const started = Date.now();
  const { errors, acmeDone } = manager.update(undefined, routers);
  t.same(errors, []);
  await acmeDone;
  t.ok(Date.now() - started < 30_000, 'four orders finish quickly');
  t.equal(pebble.ordersCount(), 4, 'one order per router domain set');
  t.equal(pebble.issuedCount(), 4);
  t.equal(pebble.httpValidations(), 3 * 3, 'HTTP-01 only for the 3 names of resolver le: alpn validated over TLS-ALPN-01');

  const cases = [
    { host: 'api.portier.test', resolver: 'le' },
    { host: 'web.portier.test', resolver: 'le' },
    { host: 'www.portier.test', resolver: 'le' },
    { host: 'shop.portier.test', resolver: 'alpn' },
    { host: 'cart.portier.test', resolver: 'alpn' },
    { host: 'blog.portier.test', resolver: 'alpn' },
  ];
  const serials = new Map<string, string>();
  for (const c of cases) {
    const r = await httpsGet(pebble.tlsPort, c.host, pebble.rootPem);
    t.equal(r.status, 200, `${c.host}: HTTPS request succeeds`);
    t.equal(r.body, `hello ${c.host}`);
    t.ok(r.authorized, `${c.host}: chain validates against pebble's root`);
    t.match(r.cert.issuer, /Pebble Intermediate CA/, `${c.host}: issued by pebble`);
    serials.set(c.host, r.cert.serialNumber);
  }
  t.equal(serials.get('web.portier.test'), serials.get('www.portier.test'), 'one certificate for the router domain set');

  // The plain router has no resolver: its name gets the default certificate, which pebble's root rejects.
  await t.rejects(httpsGet(pebble.tlsPort, 'plain.portier.test', pebble.rootPem), /self.signed|unable to verify|altnames/i);
  const h = await handshake(pebble.tlsPort, 'plain.portier.test');
  t.match(h.cert?.subject ?? '', /PORTIER DEFAULT CERT/);

  const listed = manager.certificates().filter((c) => c.resolver !== 'default');
  t.same(
    listed.map((c) => [c.resolver, c.domains.join(','), c.status]).sort(),
    [
      ['alpn', 'blog.portier.test', 'valid'],
      ['alpn', 'shop.portier.test,cart.portier.test', 'valid'],
      ['le', 'api.portier.test', 'valid'],
      ['le', 'web.portier.test,www.portier.test', 'valid'],
    ],
  );

  for (const f of ['le.json', 'alpn.json']) t.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);

  // Restart: the stored certificates serve at once and no order is made.
  await close();
  ({ manager, close } = await boot());
  t.teardown(() => close());
  const again = manager.update(undefined, routers);
  await again.acmeDone;
  t.equal(pebble.ordersCount(), 4, 'restart makes no new order');
  for (const c of cases) {
    const r = await httpsGet(pebble.tlsPort, c.host, pebble.rootPem);
    t.equal(r.cert.serialNumber, serials.get(c.host), `${c.host}: same certificate after restart`);
  }
});
