/**
 * The instance holding an issuance lock dies mid-order (a Portier process
 * killed with SIGKILL once its HTTP-01 token is published): the lock
 * expires after its lease and another instance completes the order
 * (docs/acme-cluster.md).
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { Redis } from 'ioredis';
import { TlsManager } from '../../src/tls';
import { freePort, requirePebble, startPebble } from '../helpers/pebble';
import { requireStore, startRedis, until } from '../helpers/kv-stores';
import { spawnPortier } from '../helpers/cli-process';
import { request } from '../helpers/http';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

const HOST = 'survivor.portier.test';

t.test('a lock holder killed mid-order: another instance orders after the lease', async (t) => {
  if (!requirePebble(t) || !requireStore(t, 'redis')) return;
  const redis = await startRedis(t);
  const pebble = await startPebble();
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-kill-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'pebble.pem'), pebble.pebbleCertPem);
  const storage = `redis://${redis.endpoint}/portier/acme?lease=2s`;
  const peek = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
  t.teardown(() => peek.disconnect());

  // The survivor answers Pebble's HTTP-01 validations, for the doomed instance's order too.
  const survivor = new TlsManager({
    dataDir: path.join(dir, 'survivor'),
    resolvers: { le: { acme: { caServer: pebble.directoryUrl, storage, httpChallenge: { entryPoint: 'web' }, caCertificates: [path.join(dir, 'pebble.pem')] } } },
    tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500, checkIntervalMs: 300 },
  });
  const web = http.createServer((req, res) => {
    if (!survivor.challengeResponder(req, res)) res.writeHead(404).end();
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
      storage: ${storage}
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
  // acme-client polls every 5 s by default in the CLI: the order is still open when its token appears.
  t.teardown(() => {
    if (!t.passing()) t.comment(doomed.output());
  });
  await until('the doomed instance holds the lock and published its token', async () => Boolean(await peek.get(`portier/acme/le/locks/${HOST}`)) && (await peek.keys('portier/acme/challenges/http/*')).length > 0, 30_000);
  const holder = (await peek.get(`portier/acme/le/locks/${HOST}`))!;
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
  const ordersBefore = pebble.ordersCount();

  const routers = [{ name: 'app', hosts: [HOST], tls: { certResolver: 'le' } }];
  await survivor.update(undefined, routers).acmeDone;
  t.notOk(survivor.certificates().some((c) => c.domains.includes(HOST)), 'while the dead holder’s lease runs, the survivor does not order');
  await until('the survivor has the certificate', async () => survivor.certificates().some((c) => c.domains.includes(HOST)), 40_000);
  t.equal(pebble.ordersCount(), ordersBefore + 1, 'the survivor placed exactly one order after the lease expired');
  t.equal(pebble.issuedCount(), 1, 'one certificate issued in all');
  t.ok(await peek.get(`portier/acme/le/certs/${HOST}`), 'the certificate is in the shared store');
});
