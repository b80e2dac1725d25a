/**
 * The ACME account against a real pebble: external account binding (a CA
 * that requires it refuses a resolver without `eab` and accepts one with
 * it), and an account the CA no longer knows is registered again.
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

const HMAC = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';

t.test('ACME accounts', async (t) => {
  if (!requirePebble(t)) return;
  const pebble = await startPebble({ extraConfig: { externalAccountBindingRequired: true, externalAccountMACKeys: { 'kid-1': HMAC } } });
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-account-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const caFile = path.join(dir, 'pebble-https.pem');
  fs.writeFileSync(caFile, pebble.pebbleCertPem);
  const acmeOpts = (storage: string, eab?: object): object => ({
    acme: { caServer: pebble.directoryUrl, storage: path.join(dir, storage), httpChallenge: { entryPoint: 'web' }, caCertificates: [caFile], ...(eab ? { eab } : {}) },
  });
  let manager = new TlsManager({
    dataDir: dir,
    resolvers: { bound: acmeOpts('bound.json', { kid: 'kid-1', hmacEncoded: HMAC }), unbound: acmeOpts('unbound.json'), wrong: acmeOpts('wrong.json', { kid: 'kid-9', hmacEncoded: HMAC }) },
    tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500, retryScale: 0.001, checkIntervalMs: 100 },
  });
  const web = http.createServer((req, res) => {
    if (!manager.challengeResponder(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => web.listen(pebble.httpPort, '127.0.0.1', () => r()));
  t.teardown(async () => {
    await manager.close();
    web.closeAllConnections();
    await new Promise((r) => web.close(r));
  });

  const routers = [
    { name: 'a', hosts: ['bound.portier.test'], tls: { certResolver: 'bound' } },
    { name: 'b', hosts: ['unbound.portier.test'], tls: { certResolver: 'unbound' } },
    { name: 'c', hosts: ['wrong.portier.test'], tls: { certResolver: 'wrong' } },
  ];
  await manager.update(undefined, routers).acmeDone;
  const read = (f: string): any => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const cases = [
    { resolver: 'bound', issued: true, error: undefined },
    { resolver: 'unbound', issued: false, error: /externalAccountBinding/ },
    { resolver: 'wrong', issued: false, error: /'kid' references a key that is not known/ },
  ];
  for (const c of cases) {
    const stored = read(`${c.resolver}.json`);
    t.equal(stored.certificates.length, c.issued ? 1 : 0, `${c.resolver}: ${c.issued ? 'issued' : 'refused'}`);
    if (c.error) t.match(stored.failures[`${c.resolver}.portier.test`].lastError, c.error, `${c.resolver}: the CA's reason is kept`);
  }

  // A stale account URL (a reset CA): the order fails, the next attempt looks the account up by its key and issues.
  await manager.close();
  const stored = read('bound.json');
  const knownUrl = stored.account.url;
  stored.account.url = knownUrl.replace(/[^/]+$/, 'forgotten-account');
  stored.certificates = [];
  fs.writeFileSync(path.join(dir, 'bound.json'), JSON.stringify(stored), { mode: 0o600 });
  manager = new TlsManager({ dataDir: dir, resolvers: { bound: acmeOpts('bound.json', { kid: 'kid-1', hmacEncoded: HMAC }) }, tuning: { pollBackoffMinMs: 50, retryScale: 0.001, checkIntervalMs: 100 } });
  manager.update(undefined, [routers[0]]);
  const deadline = Date.now() + 30_000;
  while (read('bound.json').certificates.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const after = read('bound.json');
  t.equal(after.certificates.length, 1, 'issued again after re-registering');
  t.equal(after.account.url, knownUrl, 'the account URL was looked up again by its key');
  t.same(after.failures, {});
});
