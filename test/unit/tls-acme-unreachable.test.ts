/**
 * An ACME server that cannot be reached (untrusted certificate, refused
 * connection, a server that accepts and never answers) makes a failed,
 * backed-off attempt with an error that says so, instead of acme-client's
 * bare TypeError or an order that never ends. And close() abandons such an
 * order at once, even while acme-client waits to retry or a request hangs.
 */
import t from 'tap';
import type { Test } from 'tap';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as acme from 'acme-client';
import { deadPort, startSilentServer } from '../helpers/dead-peers';
import { TlsManager } from '../../src/tls';
import { CertificateStore } from '../../src/tls/store';
import { createLogger } from '../../src/log/logger';

const acmeSettings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
Object.assign(acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

/** Servers standing in for a CA: each kind of unreachable, and the URL that reaches it. */
async function unreachableServers(t: Test): Promise<{ untrusted: string; refused: string; silent: string; silentSockets: Set<net.Socket> }> {
  // An HTTPS server with a certificate nobody trusts.
  const def = new CertificateStore().defaultCertificate();
  const untrusted = https.createServer({ key: def.keyPem, cert: def.certPem }, (_q, s) => s.end('{}'));
  await new Promise<void>((r) => untrusted.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => untrusted.close(r)));
  const closed = await deadPort();
  const silent = await startSilentServer(t);
  return {
    untrusted: `https://127.0.0.1:${(untrusted.address() as net.AddressInfo).port}/dir`,
    refused: `https://127.0.0.1:${closed}/dir`,
    silent: `https://127.0.0.1:${silent.port}/dir`,
    silentSockets: silent.sockets,
  };
}

const escape = (s: string): string => s.replace(/[/.]/g, '\\$&');
const routers = [{ name: 'app', hosts: ['app.example.test'], tls: { certResolver: 'le' } }];

t.test('unreachable ACME servers', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-unreachable-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const servers = await unreachableServers(t);
  const cases = [
    { name: 'untrusted certificate', url: servers.untrusted },
    { name: 'connection refused', url: servers.refused },
    { name: 'never answers', url: servers.silent },
  ];
  for (const c of cases) {
    const storage = path.join(dir, `${c.name.replace(/\W+/g, '-')}.json`);
    const manager = new TlsManager({
      dataDir: dir,
      resolvers: { le: { acme: { caServer: c.url, storage, tlsChallenge: {} } } },
      tuning: { pollBackoffMinMs: 50, requestTimeoutMs: 300 },
    });
    await manager.update(undefined, routers).acmeDone;
    const failure = JSON.parse(fs.readFileSync(storage, 'utf8')).failures['app.example.test'];
    t.equal(failure.attempts, 1, `${c.name}: one failed attempt recorded`);
    t.match(failure.lastError, new RegExp(`cannot reach the ACME server ${escape(c.url)}`), `${c.name}: says the server is unreachable`);
    t.ok(Date.parse(failure.nextAttemptAt) - Date.now() > 50_000, `${c.name}: next attempt about a minute later`);
    t.same(manager.certificates(), [], `${c.name}: nothing issued`);
    await manager.close();
  }
});

t.test('close() abandons an order at once while acme-client retries or a request hangs', async (t) => {
  // acme-client's own defaults: 5 retries, 5 s, 10 s, … apart, which made a stop wait over a minute.
  Object.assign(acmeSettings, { retryMaxAttempts: 5, retryDefaultDelay: 5 });
  t.teardown(() => void Object.assign(acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-close-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const servers = await unreachableServers(t);
  const cases = [
    { name: 'connection refused, acme-client waiting to retry', url: servers.refused },
    { name: 'request that is never answered', url: servers.silent },
  ];
  for (const c of cases) {
    const storage = path.join(dir, `${c.name.replace(/\W+/g, '-')}.json`);
    let lines = '';
    const logger = createLogger({ level: 'debug', write: (line) => (lines += line + '\n') });
    const manager = new TlsManager({ dataDir: dir, logger, resolvers: { le: { acme: { caServer: c.url, storage, tlsChallenge: {} } } } });
    const { acmeDone } = manager.update(undefined, routers);
    // The order is under way once acme-client has tried the directory (and, refused, scheduled its retry).
    const deadline = Date.now() + 10_000;
    const underWay = c.url === servers.silent ? (): boolean => servers.silentSockets.size > 0 : (): boolean => /Caught ECONNREFUSED, retry attempt/.test(lines);
    while (!underWay() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.ok(underWay(), `${c.name}: the order is under way`);
    t.same(manager.pending(), ['ACME order le: app.example.test'], `${c.name}: listed as pending`);

    const started = Date.now();
    await manager.close();
    await acmeDone;
    const ms = Date.now() - started;
    t.ok(ms < 500, `${c.name}: close() took ${ms} ms`);
    t.same(manager.pending(), [], `${c.name}: nothing pending after close()`);
    t.match(lines, /ACME: order abandoned, the process is stopping/, `${c.name}: logged as abandoned`);
    const failure = JSON.parse(fs.readFileSync(storage, 'utf8')).failures['app.example.test'];
    t.equal(failure.attempts, 1, `${c.name}: the attempt still counts for the schedule`);
    t.equal(failure.lastError, 'order in progress', `${c.name}: not recorded as the CA's failure`);
    if (c.url === servers.silent) {
      const closeDeadline = Date.now() + 1000;
      while (servers.silentSockets.size > 0 && Date.now() < closeDeadline) await new Promise((r) => setTimeout(r, 20));
      t.equal(servers.silentSockets.size, 0, `${c.name}: the hanging request's connection was closed`);
    }
  }
});
