/**
 * TLS-ALPN-01 across instances sharing one ACME storage
 * (docs/acme-cluster.md), over Redis and over etcd: instance a orders, only
 * instance c listens where Pebble validates TLS-ALPN-01, so the validation
 * succeeds only if c answers with the challenge certificate a published in
 * the store. One order per domain set at Pebble, the challenge keys gone
 * afterwards, every instance serving the certificate, and a normal client
 * on c unaffected by the store lookups.
 */
import t from 'tap';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import * as acme from 'acme-client';
import { TlsManager } from '../../src/tls';
import { freePort, requirePebble, startPebble } from '../helpers/pebble';
import { requireStore, until } from '../helpers/kv-stores';
import { SHARED_ACME_STORES } from '../helpers/shared-acme-stores';
import { handshake, httpsGet } from '../helpers/tls-clients';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

const ACME_TLS = 'acme-tls/1';
const PUBLISHED = 'portier/acme/challenges/tls-alpn/';

for (const store of SHARED_ACME_STORES.filter((s) => !s.credentials)) t.test(`TLS-ALPN-01 answered by an instance that did not order: ${store.name}`, async (t) => {
  if (!requirePebble(t) || !requireStore(t, store.kind)) return;
  const { kv, storage } = await store.start(t);
  const pebble = await startPebble();
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-alpn-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'ca.pem'), pebble.pebbleCertPem);
  const instances = ['a', 'b', 'c'].map((n) => {
    const manager = new TlsManager({
      dataDir: path.join(dir, n),
      resolvers: { le: { acme: { caServer: pebble.directoryUrl, storage: storage('portier/acme', '3s'), tlsChallenge: {}, caCertificates: [path.join(dir, 'ca.pem')] } } },
      tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500, checkIntervalMs: 300 },
    });
    const secure = https.createServer(manager.httpsServerOptions(), (_req, res) => res.end(`instance ${n}\n`));
    manager.attach(secure);
    return { n, manager, secure, port: 0 };
  });
  const [a, b, c] = instances;
  // Each validation c answered, and whether c held that challenge itself (it would, had it ordered).
  const validations: { name: string; held: boolean }[] = [];
  c.secure.on('secureConnection', (s: tls.TLSSocket & { servername?: string }) => {
    if (s.alpnProtocol === ACME_TLS) validations.push({ name: s.servername ?? '', held: c.manager.challenges.alpnContext(s.servername) !== undefined });
  });
  for (const i of instances) {
    i.port = i === c ? pebble.tlsPort : await freePort();
    await new Promise<void>((r) => i.secure.listen(i.port, '127.0.0.1', () => r()));
  }
  t.teardown(async () => {
    await Promise.all(instances.map((i) => i.manager.close()));
    for (const { secure } of instances) {
      secure.closeAllConnections();
      await new Promise((r) => secure.close(r));
    }
  });
  const seen = new Set<string>();
  const watching = setInterval(() => void kv.keys(PUBLISHED).then((keys) => keys.forEach((k) => seen.add(k.slice(PUBLISHED.length))), () => undefined), 20);
  t.teardown(() => clearInterval(watching));

  const hosts = ['alpn-one.portier.test', 'alpn-two.portier.test'];
  const routers = hosts.map((h) => ({ name: h, hosts: [h], tls: { certResolver: 'le' } }));
  const first = a.manager.update(undefined, routers);
  await until('a holds a lock', async () => (await kv.keys('portier/acme/le/locks/')).length > 0, 10_000);
  await Promise.all([first.acmeDone, b.manager.update(undefined, routers).acmeDone, c.manager.update(undefined, routers).acmeDone]);
  await until('every instance holds both certificates', async () => instances.every((i) => i.manager.certificates().filter((x) => hosts.includes(x.domains[0])).length === 2), 20_000);
  clearInterval(watching);

  t.equal(pebble.ordersCount(), hosts.length, 'one order per domain set across the three instances (Pebble log)');
  t.same(
    a.manager.certificates().filter((x) => hosts.includes(x.domains[0])).map((x) => x.challenges),
    hosts.map(() => ['tls-alpn-01']),
    'both validated with TLS-ALPN-01',
  );
  t.same([...seen].sort(), hosts, 'the challenge certificates were published in the store, keyed by domain');
  t.same([...new Set(validations.map((v) => v.name))].sort(), hosts, 'Pebble validated both names through instance c');
  t.same(validations.filter((v) => v.held), [], 'c answered every validation from the store, holding no challenge itself');
  t.same(await kv.keys(PUBLISHED), [], 'the published challenges are removed after the order');
  for (const i of instances) {
    for (const h of hosts) t.ok((await httpsGet(i.port, h, pebble.rootPem)).authorized, `instance ${i.n} serves ${h} with Pebble's certificate`);
  }
  const cases: { what: string; servername: string; alpn: string[]; ok: boolean; protocol?: string }[] = [
    { what: 'acme-tls/1 alone, nothing published: no handshake', servername: hosts[0], alpn: [ACME_TLS], ok: false },
    { what: 'acme-tls/1 beside h2, nothing published: the served protocol', servername: hosts[0], alpn: [ACME_TLS, 'h2'], ok: true, protocol: 'h2' },
    { what: 'an ordinary client', servername: hosts[1], alpn: ['http/1.1'], ok: true, protocol: 'http/1.1' },
  ];
  for (const k of cases) {
    const h = await handshake(c.port, k.servername, { ALPNProtocols: k.alpn });
    t.equal(h.ok, k.ok, `${k.what}${h.error ? ` (${h.error})` : ''}`);
    if (k.protocol) t.equal(h.alpn, k.protocol, `${k.what}: ${k.protocol}`);
  }
});
