/**
 * preferredChain against a real pebble offering two chains (PEBBLE_ALTERNATE_ROOTS):
 * the listener serves the chain that leads to the preferred root.
 */
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager } from '../../src/tls';
import { requirePebble, startPebble } from '../helpers/pebble';
import { httpsGet } from '../helpers/tls-clients';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

t.test('preferredChain picks the alternate chain', async (t) => {
  if (!requirePebble(t)) return;
  const pebble = await startPebble({ env: { PEBBLE_ALTERNATE_ROOTS: '1' } });
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-chain-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const caFile = path.join(dir, 'pebble-https.pem');
  fs.writeFileSync(caFile, pebble.pebbleCertPem);
  const roots = [pebble.rootPem, (await pebble.management('/roots/1')).body];
  const rootNames = roots.map((r) => /CN=([^\n]+)/.exec(new crypto.X509Certificate(r).subject)![1]);
  t.not(rootNames[0], rootNames[1], `two roots: ${rootNames.join(', ')}`);

  const cases = [
    { resolver: 'first', preferredChain: undefined, host: 'first.portier.test', trustedBy: 0 },
    { resolver: 'alternate', preferredChain: rootNames[1], host: 'alternate.portier.test', trustedBy: 1 },
  ];
  const resolvers = Object.fromEntries(
    cases.map((c) => [c.resolver, { acme: { caServer: pebble.directoryUrl, storage: path.join(dir, `${c.resolver}.json`), tlsChallenge: {}, caCertificates: [caFile], preferredChain: c.preferredChain } }]),
  );
  const manager = new TlsManager({ dataDir: dir, resolvers, tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500 } });
  const secure = https.createServer(manager.httpsServerOptions(), (_q, s) => s.end('ok'));
  await new Promise<void>((r) => secure.listen(pebble.tlsPort, '127.0.0.1', () => r()));
  t.teardown(async () => {
    await manager.close();
    secure.closeAllConnections();
    await new Promise((r) => secure.close(r));
  });
  await manager.update(undefined, cases.map((c) => ({ name: c.resolver, hosts: [c.host], tls: { certResolver: c.resolver } }))).acmeDone;

  for (const c of cases) {
    const r = await httpsGet(pebble.tlsPort, c.host, roots[c.trustedBy]);
    t.ok(r.authorized, `${c.resolver}: chain leads to ${rootNames[c.trustedBy]}`);
    await t.rejects(httpsGet(pebble.tlsPort, c.host, roots[1 - c.trustedBy]), { message: /certificate/ }, `${c.resolver}: and not to the other root`);
  }
});
