/**
 * A domain whose challenge fails backs off on the persisted schedule (a
 * restart does not order it again before its step is over) while another
 * domain of the same resolver is issued.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager, RouterTls } from '../../src/tls';
import { retryDelay } from '../../src/tls/acme-renewal';
import { requirePebble, startPebble } from '../helpers/pebble';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

const poll = async (what: string, ok: () => boolean, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

t.test('failing domain backs off, persisted across restarts; others still issue', async (t) => {
  if (!requirePebble(t)) return;
  const pebble = await startPebble();
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-backoff-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'pebble-https.pem'), pebble.pebbleCertPem);
  const storage = path.join(dir, 'le.json');
  const resolvers = { le: { acme: { caServer: pebble.directoryUrl, storage, httpChallenge: { entryPoint: 'web' }, caCertificates: [path.join(dir, 'pebble-https.pem')] } } };
  // 1 m → 3 s, 2 m → 6 s: long enough to restart within a step, short enough to see the next attempt.
  const retryScale = 0.05;
  const tuning = { pollBackoffMinMs: 50, pollBackoffMaxMs: 500, retryScale, checkIntervalMs: 200 };
  const routers: RouterTls[] = [
    { name: 'good', hosts: ['good.portier.test'], tls: { certResolver: 'le' } },
    { name: 'broken', hosts: ['broken.portier.test'], tls: { certResolver: 'le' } },
  ];

  let manager = new TlsManager({ resolvers, dataDir: dir, tuning });
  // The responder is not reachable for broken.portier.test: its validation gets a 404.
  const web = http.createServer((req, res) => {
    if (req.headers.host?.startsWith('broken.') || !manager.challengeResponder(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => web.listen(pebble.httpPort, '127.0.0.1', () => resolve()));
  t.teardown(async () => {
    await manager.close();
    web.closeAllConnections();
    await new Promise((r) => web.close(r));
  });

  const t0 = Date.now();
  await manager.update(undefined, routers).acmeDone;
  t.equal(pebble.ordersCount(), 2, 'one order per domain set');
  t.equal(pebble.issuedCount(), 1, 'the good domain is issued');
  t.same(manager.certificates().filter((c) => c.resolver === 'le').map((c) => c.domains), [['good.portier.test']]);
  const read = (): { failures: Record<string, { attempts: number; nextAttemptAt: string; lastError: string }> } => JSON.parse(fs.readFileSync(storage, 'utf8'));
  const failure = read().failures['broken.portier.test'];
  t.equal(failure.attempts, 1);
  t.match(failure.lastError, /404|unauthorized|invalid/i, 'the CA error is kept');
  t.ok(Date.parse(failure.nextAttemptAt) >= t0 + retryDelay(1, retryScale) - 1000, 'next attempt after the first step');

  // Restart loop within the step: each new process loads the backoff and makes no order.
  for (let i = 0; i < 3; i++) {
    await manager.close();
    manager = new TlsManager({ resolvers, dataDir: dir, tuning });
    await manager.update(undefined, routers).acmeDone;
  }
  t.equal(pebble.ordersCount(), 2, 'no order during the backoff step, across restarts');

  // After the step the periodic check retries once, and the schedule grows.
  await poll('second attempt', () => read().failures['broken.portier.test']?.attempts === 2 && pebble.ordersCount() === 3);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(pebble.ordersCount(), 3, 'exactly one more order within the second step');
  const second = read().failures['broken.portier.test'];
  t.ok(Date.parse(second.nextAttemptAt) - Date.parse((second as unknown as { lastAttemptAt: string }).lastAttemptAt) >= retryDelay(2, retryScale) - 5, 'second step is longer');
  t.ok(Date.now() - t0 >= retryDelay(1, retryScale), 'not before the first step was over');
  t.equal(pebble.issuedCount(), 1, 'good.portier.test was not ordered again');
});
