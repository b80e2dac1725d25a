/**
 * Three Portier TLS managers on one shared store and one Pebble
 * (docs/acme-cluster.md), for each store an address may name (Redis and
 * etcd, with and without credentials): one order per domain set across
 * them, the CA's HTTP-01 validation answered by an instance that did not
 * place the order, every instance serving the certificate, the cluster view
 * naming the lock holder.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager } from '../../src/tls';
import { freePort, requirePebble, startPebble } from '../helpers/pebble';
import { requireStore, until } from '../helpers/kv-stores';
import { SHARED_ACME_STORES } from '../helpers/shared-acme-stores';
import { httpsGet } from '../helpers/tls-clients';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

for (const store of SHARED_ACME_STORES) t.test(`three instances share one ACME storage: ${store.name}`, async (t) => {
  if (!requirePebble(t) || !requireStore(t, store.kind)) return;
  const { kv, storage: address, label } = await store.start(t);
  const pebble = await startPebble();
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-cluster-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'ca.pem'), pebble.pebbleCertPem);
  const storage = address('portier/acme', '3s');
  const instances = ['a', 'b', 'c'].map((n) => {
    const manager = new TlsManager({
      dataDir: path.join(dir, n),
      resolvers: { le: { acme: { caServer: pebble.directoryUrl, storage, httpChallenge: { entryPoint: 'web' }, caCertificates: [path.join(dir, 'ca.pem')] } } },
      tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500, checkIntervalMs: 300 },
    });
    const web = http.createServer((req, res) => {
      if (!manager.challengeResponder(req, res)) res.writeHead(404).end();
    });
    const secure = https.createServer(manager.httpsServerOptions(), (_req, res) => res.end(`instance ${n}\n`));
    manager.attach(secure);
    return { n, manager, web, secure };
  });
  const [a, b, c] = instances;
  // Only c listens where Pebble validates HTTP-01: a orders, c answers from the store.
  await new Promise<void>((r) => c.web.listen(pebble.httpPort, '127.0.0.1', () => r()));
  const ports: number[] = [];
  for (const i of instances) {
    const port = await freePort();
    ports.push(port);
    await new Promise<void>((r) => i.secure.listen(port, '127.0.0.1', () => r()));
  }
  t.teardown(async () => {
    await Promise.all(instances.map((i) => i.manager.close()));
    for (const s of [c.web, ...instances.map((i) => i.secure)]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  const hosts = ['one.portier.test', 'two.portier.test'];
  const routers = hosts.map((h) => ({ name: h, hosts: [h], tls: { certResolver: 'le' } }));
  const first = a.manager.update(undefined, routers);
  await until('a holds a lock', async () => (await kv.keys('portier/acme/le/locks/')).length > 0, 20_000);
  // a reads the view again as it takes a lock; the others by their registrations (lease/3).
  const holderListed = (): boolean => {
    const v = a.manager.cluster()[0];
    return v?.instances.length === 3 && v.locks.length > 0 && Boolean(v.instances.find((i) => i.id === v.locks[0].holder)?.locks.length);
  };
  await until('a sees three instances, and its lock both in the store and on its registration', async () => holderListed(), 20_000);
  t.equal(a.manager.cluster()[0].storage, label('portier/acme'), 'the cluster view names the store, without credentials');
  await Promise.all([first.acmeDone, b.manager.update(undefined, routers).acmeDone, c.manager.update(undefined, routers).acmeDone]);

  await until('every instance holds both certificates', async () => instances.every((i) => i.manager.certificates().filter((x) => hosts.includes(x.domains[0])).length === 2), 30_000);
  t.equal(pebble.ordersCount(), hosts.length, 'one order per domain set across the three instances (Pebble log)');
  t.ok(pebble.httpValidations() >= hosts.length, 'Pebble validated HTTP-01 through instance c only');
  t.equal(await kv.get('portier/acme/le/locks/one.portier.test'), undefined, 'locks released');
  for (const [k, i] of instances.entries()) {
    for (const h of hosts) {
      const r = await httpsGet(ports[k], h, pebble.rootPem);
      t.ok(r.authorized, `instance ${i.n} serves ${h} with Pebble's certificate`);
    }
  }
});
