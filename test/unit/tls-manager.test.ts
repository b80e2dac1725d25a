/**
 * The TlsManager as the gateway uses it: static certificates and the
 * default certificate from the dynamic config's files (bad files reported by
 * path, good ones still served), and the HTTP-01 responder.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TlsManager } from '../../src/tls';
import { createCertificate, generateEcKeyPair, privateKeyPem } from '../../src/tls/x509';
import { handshake } from '../helpers/tls-clients';

function writePair(dir: string, name: string, altNames: string[]): { certFile: string; keyFile: string } {
  const keys = generateEcKeyPair();
  const now = Date.now();
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  fs.writeFileSync(certFile, createCertificate({ subject: { commonName: name }, ...keys, altNames, notBefore: new Date(now - 3600_000), notAfter: new Date(now + 86400_000) }));
  fs.writeFileSync(keyFile, privateKeyPem(keys.privateKey));
  return { certFile, keyFile };
}

const cn = (s: string | undefined): string | undefined => /CN=([^\n]+)/.exec(s ?? '')?.[1];

t.test('file certificates and default certificate', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-manager-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const manager = new TlsManager({ dataDir: dir });
  const server = https.createServer(manager.httpsServerOptions(), (_q, s) => s.end());
  manager.attach(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => server.close(r)));
  const port = (server.address() as net.AddressInfo).port;

  const api = writePair(dir, 'api', ['api.example.test']);
  const wild = writePair(dir, 'wild', ['*.apps.example.test']);
  const def = writePair(dir, 'fallback', ['fallback.example.test']);
  const { errors } = manager.update(
    {
      certificates: [api, { certFile: path.join(dir, 'missing.crt'), keyFile: api.keyFile }, { certFile: wild.certFile, keyFile: api.keyFile }, wild],
      stores: { default: { defaultCertificate: def } },
      options: { default: { sniStrict: false }, broken: { minVersion: 'TLS9' } },
    },
    [],
  );
  t.same(
    errors.map((e) => e.path),
    ['tls.certificates[1]', 'tls.certificates[2]', 'tls.options.broken.minVersion'],
    'each bad entry is reported by path',
  );
  t.match(errors[0].message, /missing\.crt/);
  t.match(errors[1].message, /key values mismatch|cannot load certificate/);

  const cases = [
    { sni: 'api.example.test', cert: 'api' },
    { sni: 'x.apps.example.test', cert: 'wild' },
    { sni: 'other.example.test', cert: 'fallback' },
    { sni: undefined, cert: 'fallback' },
  ];
  for (const c of cases) t.equal(cn((await handshake(port, c.sni)).cert?.subject), c.cert, `${c.sni ?? '(no SNI)'} → ${c.cert}`);

  // sniStrict from the dynamic config applies to the running listener.
  manager.update({ certificates: [api], options: { default: { sniStrict: true } } }, []);
  t.notOk((await handshake(port, 'other.example.test')).ok, 'sniStrict: unknown name refused');
  t.equal(cn((await handshake(port, 'api.example.test')).cert?.subject), 'api');
  // Dropping the default certificate goes back to the generated one.
  manager.update({ certificates: [api] }, []);
  t.equal(cn((await handshake(port, 'other.example.test')).cert?.subject), 'PORTIER DEFAULT CERT');
  t.equal(cn((await handshake(port, undefined)).cert?.subject), 'PORTIER DEFAULT CERT', 'no-SNI clients follow the default too');
  t.same(manager.certificates().map((c) => [c.resolver, c.domains]), [['file', ['api.example.test']]]);
  await manager.close();
});

t.test('HTTP-01 responder', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-manager-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const withAcme = new TlsManager({ dataDir: dir, resolvers: { le: { acme: { httpChallenge: { entryPoint: 'web' }, storage: path.join(dir, 'le.json') } } } });
  const without = new TlsManager({ dataDir: dir });
  t.same(withAcme.httpChallengeEntryPoints(), ['web']);
  withAcme.challenges.setHttpToken('tok-1', 'tok-1.thumbprint');
  const serve = async (m: TlsManager): Promise<number> => {
    const s = http.createServer((req, res) => {
      if (!m.challengeResponder(req, res)) res.writeHead(418).end('router');
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    t.teardown(() => new Promise((r) => s.close(r)));
    return (s.address() as net.AddressInfo).port;
  };
  const ports = { withAcme: await serve(withAcme), without: await serve(without) };
  const cases = [
    { m: 'withAcme', method: 'GET', path: '/.well-known/acme-challenge/tok-1', status: 200, body: 'tok-1.thumbprint' },
    { m: 'withAcme', method: 'GET', path: '/.well-known/acme-challenge/unknown', status: 404, body: 'no such ACME challenge\n' },
    { m: 'withAcme', method: 'POST', path: '/.well-known/acme-challenge/tok-1', status: 405, body: 'method not allowed\n' },
    { m: 'withAcme', method: 'GET', path: '/app', status: 418, body: 'router' },
    { m: 'without', method: 'GET', path: '/.well-known/acme-challenge/tok-1', status: 418, body: 'router' },
  ] as const;
  for (const c of cases) {
    const r = await fetch(`http://127.0.0.1:${ports[c.m]}${c.path}`, { method: c.method });
    t.equal(r.status, c.status, `${c.m} ${c.method} ${c.path}: ${c.status}`);
    t.equal(await r.text(), c.body);
  }
  await withAcme.close();
  await without.close();
});
