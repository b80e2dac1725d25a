/**
 * An ACME server that cannot be reached (untrusted certificate, refused
 * connection) makes a failed, backed-off attempt with an error that says so,
 * instead of acme-client's bare TypeError.
 */
import t from 'tap';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { TlsManager } from '../../src/tls';
import { CertificateStore } from '../../src/tls/store';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

t.test('unreachable ACME servers', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-unreachable-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // An HTTPS server with a certificate nobody trusts.
  const def = new CertificateStore().defaultCertificate();
  const untrusted = https.createServer({ key: def.keyPem, cert: def.certPem }, (_q, s) => s.end('{}'));
  await new Promise<void>((r) => untrusted.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => untrusted.close(r)));
  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const cases = [
    { name: 'untrusted certificate', url: `https://127.0.0.1:${(untrusted.address() as net.AddressInfo).port}/dir` },
    { name: 'connection refused', url: `https://127.0.0.1:${closed}/dir` },
  ];
  for (const c of cases) {
    const storage = path.join(dir, `${c.name.replace(/\W+/g, '-')}.json`);
    const manager = new TlsManager({ dataDir: dir, resolvers: { le: { acme: { caServer: c.url, storage, tlsChallenge: {} } } }, tuning: { pollBackoffMinMs: 50 } });
    await manager.update(undefined, [{ name: 'app', hosts: ['app.example.test'], tls: { certResolver: 'le' } }]).acmeDone;
    const failure = JSON.parse(fs.readFileSync(storage, 'utf8')).failures['app.example.test'];
    t.equal(failure.attempts, 1, `${c.name}: one failed attempt recorded`);
    t.match(failure.lastError, new RegExp(`cannot reach the ACME server ${c.url.replace(/[/.]/g, '\\$&')}`), `${c.name}: says the server is unreachable`);
    t.ok(Date.parse(failure.nextAttemptAt) - Date.now() > 50_000, `${c.name}: next attempt about a minute later`);
    t.same(manager.certificates(), [], `${c.name}: nothing issued`);
    await manager.close();
  }
});
