/**
 * Many routers on one resolver: one order per domain set, at most two
 * orders at a time (observed through the live HTTP-01 tokens), all issued.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager } from '../../src/tls';
import { requirePebble, startPebble } from '../helpers/pebble';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

t.test('bounded concurrency', async (t) => {
  if (!requirePebble(t)) return;
  const pebble = await startPebble();
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-concurrency-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'ca.pem'), pebble.pebbleCertPem);
  const manager = new TlsManager({
    dataDir: dir,
    resolvers: { le: { acme: { caServer: pebble.directoryUrl, httpChallenge: { entryPoint: 'web' }, caCertificates: [path.join(dir, 'ca.pem')] } } },
    tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500 },
  });
  // Watch the tokens: one per pending order here (one name per router).
  const live = new Set<string>();
  let most = 0;
  const { challenges } = manager;
  const set = challenges.setHttpToken.bind(challenges);
  const del = challenges.deleteHttpToken.bind(challenges);
  challenges.setHttpToken = (token, keyAuth) => {
    live.add(token);
    most = Math.max(most, live.size);
    set(token, keyAuth);
  };
  challenges.deleteHttpToken = (token) => {
    live.delete(token);
    del(token);
  };
  const web = http.createServer((req, res) => {
    if (!manager.challengeResponder(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => web.listen(pebble.httpPort, '127.0.0.1', () => r()));
  t.teardown(async () => {
    await manager.close();
    web.closeAllConnections();
    await new Promise((r) => web.close(r));
  });

  const hosts = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => `${x}.portier.test`);
  // The same routing table pushed twice in a row (as a gateway reload might) must not double the orders.
  const routers = hosts.map((h) => ({ name: h, hosts: [h], tls: { certResolver: 'le' } }));
  const first = manager.update(undefined, routers);
  const second = manager.update(undefined, routers);
  await Promise.all([first.acmeDone, second.acmeDone]);
  t.equal(pebble.ordersCount(), hosts.length, 'one order per domain set');
  t.ok(most <= 2, `at most 2 orders at once (saw ${most})`);
  t.same(manager.certificates().map((c) => c.domains[0]).sort(), hosts, 'all issued');
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'acme-le.json'), 'utf8')).certificates.length, hosts.length, 'default storage file in the data dir');
});
