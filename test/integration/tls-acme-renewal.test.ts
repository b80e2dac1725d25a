/**
 * Renewal against a real pebble issuing 60-second certificates: the resolver
 * replaces the certificate once it is due, and a client hammering the HTTPS
 * listener across the swap sees no failed request and always a valid chain.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager } from '../../src/tls';
import { requirePebble, startPebble } from '../helpers/pebble';
import { httpsGet } from '../helpers/tls-clients';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

const listen = (server: http.Server, port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

t.test('a due certificate is renewed without a failed request', async (t) => {
  if (!requirePebble(t)) return;
  const pebble = await startPebble({ validitySeconds: 60 });
  t.teardown(() => pebble.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-renew-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'pebble-https.pem'), pebble.pebbleCertPem);
  const storage = path.join(dir, 'le.json');

  const manager = new TlsManager({
    resolvers: { le: { acme: { caServer: pebble.directoryUrl, storage, httpChallenge: { entryPoint: 'web' }, caCertificates: [path.join(dir, 'pebble-https.pem')] } } },
    dataDir: dir,
    // Due after ~9 s of the 60 s lifetime instead of 40 s: keeps the test short.
    tuning: { pollBackoffMinMs: 50, pollBackoffMaxMs: 500, renewFraction: 0.85, checkIntervalMs: 250 },
  });
  const web = http.createServer((req, res) => {
    if (!manager.challengeResponder(req, res)) res.writeHead(404).end();
  });
  const secure = https.createServer(manager.httpsServerOptions(), (_req, res) => res.end('ok'));
  await listen(web, pebble.httpPort);
  await listen(secure, pebble.tlsPort);
  t.teardown(async () => {
    await manager.close();
    for (const s of [web, secure]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  const host = 'renew.portier.test';
  await manager.update(undefined, [{ name: 'app', hosts: [host], tls: { certResolver: 'le' } }]).acmeDone;
  const first = await httpsGet(pebble.tlsPort, host, pebble.rootPem);
  t.ok(first.authorized);
  const lifetime = Date.parse(first.cert.validTo) - Date.parse(first.cert.validFrom);
  t.ok(lifetime <= 61_000, `short-lived certificate (${lifetime} ms)`);

  // Bounded: at most 45 s and 3000 requests, ending as soon as a second certificate was served.
  const deadline = Date.now() + 45_000;
  const serials = new Set([first.cert.serialNumber]);
  let requests = 0;
  const failures: string[] = [];
  while (serials.size < 2 && Date.now() < deadline && requests < 3000) {
    requests++;
    try {
      const r = await httpsGet(pebble.tlsPort, host, pebble.rootPem);
      if (r.status !== 200 || !r.authorized) failures.push(`status ${r.status} authorized ${r.authorized}`);
      serials.add(r.cert.serialNumber);
    } catch (err) {
      failures.push(String(err));
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(serials.size, 2, `certificate replaced (after ${requests} requests)`);
  t.same(failures, [], 'no request failed across the swap');
  t.equal(pebble.issuedCount(), 2, 'exactly one renewal order');
  const stored = JSON.parse(fs.readFileSync(storage, 'utf8'));
  t.equal(stored.certificates.length, 1, 'the renewed certificate replaced the old one in storage');
  t.ok(Date.parse(stored.certificates[0].notAfter) > Date.parse(first.cert.validTo), 'storage holds the newer certificate');
  t.same(stored.failures, {});
});
