/**
 * The instance holding an issuance lock dies mid-order (a Portier process
 * killed with SIGKILL once its HTTP-01 token is published): the lock
 * expires after its lease (a Redis expiry, an etcd lease) and another
 * instance completes the order (docs/acme-cluster.md). Run against each
 * store with credentials in its address, as a user's portier.yaml has them
 * (tls-acme-cluster.test.ts covers the plain addresses).
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager } from '../../src/tls';
import { freePort, requirePebble, startPebble } from '../helpers/pebble';
import { requireStore, until } from '../helpers/kv-stores';
import { SHARED_ACME_STORES } from '../helpers/shared-acme-stores';
import { spawnPortier } from '../helpers/cli-process';
import { request } from '../helpers/http';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

const HOST = 'survivor.portier.test';

for (const store of SHARED_ACME_STORES.filter((s) => s.credentials)) t.test(`a lock holder killed mid-order: another instance orders after the lease: ${store.name}`, async (t) => {
  if (!requirePebble(t) || !requireStore(t, store.kind)) return;
  const { kv, storage: address } = await store.start(t);
  const pebble = await startPebble();
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-kill-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'pebble.pem'), pebble.pebbleCertPem);
  const storage = address('portier/acme', '2s');

  // The survivor answers Pebble's HTTP-01 validations, for the doomed instance's order too.
  const survivor = new TlsManager({
    dataDir: path.join(dir, 'survivor'),
    resolvers: { le: { acme: { caServer: pebble.directoryUrl, storage, httpChallenge: { entryPoint: 'web' }, caCertificates: [path.join(dir, 'pebble.pem')] } } },
    tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500, checkIntervalMs: 300 },
  });
  // Validations wait until the doomed instance is killed: its order stays open however fast Pebble is.
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const web = http.createServer((req, res) => {
    void gate.then(() => survivor.challengeResponder(req, res) || res.writeHead(404).end());
  });
  await new Promise<void>((r) => web.listen(pebble.httpPort, '127.0.0.1', () => r()));
  t.teardown(async () => {
    await survivor.close();
    web.closeAllConnections();
    await new Promise((r) => web.close(r));
  });

  const doomedDir = path.join(dir, 'doomed');
  fs.mkdirSync(doomedDir);
  const [webPort, securePort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const doomed = spawnPortier(t, doomedDir, {
    'portier.yaml': `entryPoints:
  web:
    address: 127.0.0.1:${webPort}
  websecure:
    address: 127.0.0.1:${securePort}
  traefik:
    address: 127.0.0.1:${apiPort}
api: {}
providers:
  file:
    filename: dynamic.yaml
    watch: false
certificatesResolvers:
  le:
    acme:
      caServer: ${pebble.directoryUrl}
      storage: ${JSON.stringify(storage)}
      httpChallenge:
        entryPoint: web
      caCertificates: [../pebble.pem]
dataDir: ./data
`,
    'dynamic.yaml': `http:
  routers:
    app:
      rule: Host(\`${HOST}\`)
      service: app
      tls:
        certResolver: le
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
`,
  });
  if (!doomed) return;
  t.teardown(() => {
    if (!t.passing()) t.comment(doomed.output());
  });
  await until('the doomed instance holds the lock and published its token', async () => Boolean(await kv.get(`portier/acme/le/locks/${HOST}`)) && (await kv.keys('portier/acme/challenges/http/')).length > 0, 30_000);
  const holder = (await kv.get(`portier/acme/le/locks/${HOST}`))!;
  t.match(holder, new RegExp(`-${doomed.child.pid}-`), 'the lock is held by the child process');
  // Its own API shows it (the view is read again with each registration, lease/3).
  type View = { instances: { pid: number; locks: string[] }[]; locks: { holder: string; domains: string[] }[] }[];
  let view: View = [];
  await until('the child lists its lock on /api/tls/cluster', async () => {
    const r = await request(`http://127.0.0.1:${apiPort}/api/tls/cluster`);
    view = JSON.parse(r.body) as View;
    return Boolean(view[0]?.instances.find((i) => i.pid === doomed.child.pid)?.locks.length);
  }, 10_000);
  t.same(view[0].locks.map((l) => l.domains), [[HOST]], '/api/tls/cluster names the locked domain set');
  t.same(view[0].instances.find((i) => i.pid === doomed.child.pid)?.locks, [`le:${HOST}`], 'and the child as its holder, among the instances');
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  openGate();
  const ordersBefore = pebble.ordersCount();

  const routers = [{ name: 'app', hosts: [HOST], tls: { certResolver: 'le' } }];
  await survivor.update(undefined, routers).acmeDone;
  t.notOk(survivor.certificates().some((c) => c.domains.includes(HOST)), 'while the dead holder’s lease runs, the survivor does not order');
  await until('the survivor has the certificate', async () => survivor.certificates().some((c) => c.domains.includes(HOST)), 40_000);
  t.equal(pebble.ordersCount(), ordersBefore + 1, 'the survivor placed exactly one order after the lease expired');
  t.equal(pebble.issuedCount(), 1, 'one certificate issued in all');
  t.ok(await kv.get(`portier/acme/le/certs/${HOST}`), 'the certificate is in the shared store');
});
