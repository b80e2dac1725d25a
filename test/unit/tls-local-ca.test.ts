/**
 * The local development CA: one root kept in the data directory (key 0600),
 * leaf certificates for router hosts issued on demand in milliseconds, which
 * a client trusting only the local root accepts for the right name.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { LocalCa } from '../../src/tls/local-ca';
import { TlsManager } from '../../src/tls';
import { handshake, httpsGet } from '../helpers/tls-clients';

const tmp = (t: { teardown(fn: () => void): void }): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-local-ca-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test('root is created once, key 0600, and reused', async (t) => {
  const dir = tmp(t);
  const ca = new LocalCa({ dataDir: dir });
  const root = ca.rootPem();
  t.equal(fs.statSync(ca.keyFile).mode & 0o777, 0o600, 'root key is 0600');
  t.equal(fs.statSync(path.dirname(ca.keyFile)).mode & 0o077, 0, 'CA directory is private');
  const x = new crypto.X509Certificate(root);
  t.ok(x.ca, 'root is a CA');
  t.match(x.subject, /CN=Portier Local CA/);
  t.equal(new LocalCa({ dataDir: dir }).rootPem(), root, 'a second start reuses the root');

  fs.chmodSync(ca.keyFile, 0o644);
  t.throws(() => new LocalCa({ dataDir: dir }).rootPem(), { code: 'CONFIG_INVALID', message: new RegExp(`${ca.keyFile}.*mode 644.*chmod 600`) });
});

t.test('processes creating the CA at once agree on one root', async (t) => {
  const dir = tmp(t);
  const script = path.join(__dirname, '..', 'helpers', 'local-ca-root.ts');
  // Children need a moment to load TypeScript: start them all at the same instant, well ahead.
  const at = String(Date.now() + 4000);
  const outputs = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, [...process.execArgv, script, dir, at], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}`))));
        }),
    ),
  );
  t.equal(new Set(outputs).size, 1, 'one root for all');
  t.match(outputs[0], / true$/, 'leaves verify against it');
  t.equal(outputs[0].split(' ')[0], new crypto.X509Certificate(new LocalCa({ dataDir: dir }).rootPem()).fingerprint256, 'and it is the one on disk');
  t.same(fs.readdirSync(dir), ['ca'], 'no staging directory left');
});

t.test('leaf for app.shop.localhost validates against the local root', async (t) => {
  const dir = tmp(t);
  const ca = new LocalCa({ dataDir: dir });
  ca.issue('first.localhost');
  const rootBefore = fs.readFileSync(ca.certFile, 'utf8');
  const cases = ['app.shop.localhost', 'api.shop.localhost', 'web.blog.localhost', 'localhost'];
  for (const host of cases) {
    const leaf = ca.issue(host);
    t.same(leaf.domains, [host]);
    t.equal(leaf.resolver, 'local');
    t.ok(leaf.notAfter.getTime() - Date.now() <= 7 * 86400_000 + 1000, `${host}: short-lived`);
    // An outside verifier agrees.
    const certFile = path.join(dir, `${host}.pem`);
    fs.writeFileSync(certFile, leaf.certPem);
    t.match(execFileSync('openssl', ['verify', '-CAfile', ca.certFile, '-verify_hostname', host, '-purpose', 'sslserver', certFile]).toString(), /OK/, `${host}: openssl verify OK`);
  }
  t.equal(fs.readFileSync(ca.certFile, 'utf8'), rootBefore, 'every leaf from the one root: it is made once, not per leaf');
  t.equal(ca.issue('app.shop.localhost'), ca.issue('app.shop.localhost'), 'cached');

  const quick = new LocalCa({ dataDir: dir, leafValidityMs: 1000 });
  t.not(quick.issue('app.shop.localhost').certPem, quick.issue('app.shop.localhost').certPem, 'a leaf due for renewal is issued anew');
});

t.test('TlsManager serves local-CA certificates for *.localhost routers', async (t) => {
  const dir = tmp(t);
  const manager = new TlsManager({ dataDir: dir });
  const { errors } = manager.update(undefined, [
    { name: 'shop', hosts: ['app.shop.localhost'], tls: {} },
    { name: 'custom', hosts: ['app.example.test'], tls: { certResolver: 'local' } },
    { name: 'public', hosts: ['www.example.test'], tls: {} },
    { name: 'typo', hosts: ['x.example.test'], tls: { certResolver: 'letsencrypt' } },
  ]);
  t.same(errors.map((e) => [e.code, e.path]), [['REF_UNKNOWN', 'http.routers.typo.tls.certResolver']]);
  const server = https.createServer(manager.httpsServerOptions(), (_req, res) => res.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => server.close(r)));
  const port = (server.address() as net.AddressInfo).port;
  const root = manager.localCa()!.rootPem();

  const cases = [
    { host: 'app.shop.localhost', trusted: true },
    { host: 'app.example.test', trusted: true },
    { host: 'www.example.test', trusted: false },
    { host: 'nobody.localhost', trusted: false },
  ];
  for (const c of cases) {
    if (c.trusted) {
      const r = await httpsGet(port, c.host, root);
      t.ok(r.authorized && r.status === 200, `${c.host}: trusted through the local root, name checked`);
    } else {
      await t.rejects(httpsGet(port, c.host, root), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }, `${c.host}: no local certificate`);
      t.match((await handshake(port, c.host)).cert?.subject, /PORTIER DEFAULT CERT/, `${c.host}: default certificate`);
    }
  }
  // tls.connect with only the local root: the chain is trusted and the name check passes for its host only.
  const peer = await new Promise<tls.PeerCertificate & { authorized: boolean }>((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'app.shop.localhost', ca: root }, () => {
      resolve(Object.assign(sock.getPeerCertificate(), { authorized: sock.authorized }));
      sock.end();
    });
    sock.on('error', reject);
  });
  t.ok(peer.authorized, 'chain trusted by tls.connect');
  t.equal(tls.checkServerIdentity('app.shop.localhost', peer), undefined, 'checkServerIdentity passes');
  t.type(tls.checkServerIdentity('api.shop.localhost', peer), Error, 'and fails for another host');
  t.same(
    manager.certificates().filter((c) => c.resolver === 'local').map((c) => [c.domains[0], c.status]).sort(),
    [['app.example.test', 'valid'], ['app.shop.localhost', 'valid']],
    'issued leaves are listed',
  );
  await manager.close();
});
