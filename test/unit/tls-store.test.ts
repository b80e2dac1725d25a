/**
 * SNI selection on a real HTTPS listener built from httpsServerOptions:
 * exact name, one-label wildcard, the default certificate (generated or
 * configured), sniStrict handshake failures, the TLS-ALPN-01 switch on the
 * same port, TLS options, and the API listing.
 */
import t, { Test } from 'tap';
import crypto from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import { CertificateStore } from '../../src/tls/store';
import { ChallengeRegistry } from '../../src/tls/challenges';
import { httpsServerOptions, followTlsSettings, secureContextSettings, TlsOptions } from '../../src/tls/server-options';
import { loadCertificate, certificateStatus, ServedCertificate } from '../../src/tls/certificate';
import { createCertificate, generateEcKeyPair, privateKeyPem } from '../../src/tls/x509';
import { handshake } from '../helpers/tls-clients';

const HOUR = 3600_000;

function selfSigned(commonName: string, altNames: string[], resolver = 'file', from = -HOUR, to = 24 * HOUR): ServedCertificate {
  const keys = generateEcKeyPair();
  const now = Date.now();
  const pem = createCertificate({ subject: { commonName }, ...keys, altNames, notBefore: new Date(now + from), notAfter: new Date(now + to) });
  return loadCertificate(pem, privateKeyPem(keys.privateKey), resolver);
}

async function serve(t: Test, store: CertificateStore, challenges: ChallengeRegistry, opts: TlsOptions = {}): Promise<{ port: number; server: https.Server }> {
  const server = https.createServer(httpsServerOptions(store, challenges, opts), (_req, res) => res.end('ok'));
  followTlsSettings(server, store, () => opts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as net.AddressInfo).port, server };
}

const cn = (subject: string | undefined): string | undefined => /CN=([^\n]+)/.exec(subject ?? '')?.[1];

t.test('SNI selection', async (t) => {
  const store = new CertificateStore();
  store.setGroup('file', [
    selfSigned('exact', ['exact.example.test']),
    selfSigned('wildcard', ['*.wild.example.test']),
    selfSigned('specific', ['x.wild.example.test']),
  ]);
  const challenges = new ChallengeRegistry();
  const loose = await serve(t, store, challenges);
  const strict = await serve(t, store, challenges, { sniStrict: true });

  const cases: { sni: string | undefined; loose: string; strict: string | null }[] = [
    { sni: 'exact.example.test', loose: 'exact', strict: 'exact' },
    { sni: 'EXACT.Example.Test', loose: 'exact', strict: 'exact' },
    { sni: 'a.wild.example.test', loose: 'wildcard', strict: 'wildcard' },
    { sni: 'x.wild.example.test', loose: 'specific', strict: 'specific' },
    { sni: 'a.b.wild.example.test', loose: 'PORTIER DEFAULT CERT', strict: null },
    { sni: 'wild.example.test', loose: 'PORTIER DEFAULT CERT', strict: null },
    { sni: 'unknown.test', loose: 'PORTIER DEFAULT CERT', strict: null },
    { sni: undefined, loose: 'PORTIER DEFAULT CERT', strict: null },
  ];
  for (const c of cases) {
    const l = await handshake(loose.port, c.sni);
    t.equal(cn(l.cert?.subject), c.loose, `${c.sni ?? '(no SNI)'}: ${c.loose}`);
    const s = await handshake(strict.port, c.sni);
    if (c.strict === null) t.notOk(s.ok, `${c.sni ?? '(no SNI)'}: handshake fails under sniStrict`);
    else t.equal(cn(s.cert?.subject), c.strict, `${c.sni}: ${c.strict} under sniStrict`);
  }

  // A configured default replaces the generated one, for SNI and no-SNI clients alike.
  store.setDefault(selfSigned('configured default', ['default.example.test'], 'default'));
  t.equal(cn((await handshake(loose.port, 'unknown.test')).cert?.subject), 'configured default');
  t.equal(cn((await handshake(loose.port, undefined)).cert?.subject), 'configured default');

  // Swapping a certificate: the next handshake gets the new one.
  const before = (await handshake(loose.port, 'exact.example.test')).cert?.serialNumber;
  store.setGroup('file', [selfSigned('exact', ['exact.example.test'])]);
  const after = (await handshake(loose.port, 'exact.example.test')).cert?.serialNumber;
  t.not(after, before, 'replaced certificate is served');
  t.equal(cn((await handshake(loose.port, 'a.wild.example.test')).cert?.subject), 'configured default', 'a removed certificate is no longer served');
});

t.test('an expired certificate loses to a valid one for the same name', async (t) => {
  const store = new CertificateStore();
  const expired = selfSigned('old', ['app.example.test'], 'file', -48 * HOUR, -HOUR);
  const valid = selfSigned('new', ['app.example.test'], 'le', -HOUR, HOUR);
  for (const order of [[expired, valid], [valid, expired]]) {
    store.setGroup('file', order);
    t.equal(cn(new crypto.X509Certificate(store.match('app.example.test')!.certPem).subject), 'new');
  }
});

t.test('TLS-ALPN-01 on the HTTPS port: ALPNCallback marks the socket, SNICallback serves the challenge', async (t) => {
  const store = new CertificateStore();
  store.setGroup('file', [selfSigned('normal', ['acme.example.test'])]);
  const challenges = new ChallengeRegistry();
  challenges.setAlpnCertificate('acme.example.test', selfSigned('challenge', ['acme.example.test']).context);
  const { port } = await serve(t, store, challenges);
  const cases = [
    { name: 'validation handshake', sni: 'acme.example.test', alpn: ['acme-tls/1'], ok: true, proto: 'acme-tls/1', cert: 'challenge' },
    { name: 'plain HTTPS, same name', sni: 'acme.example.test', alpn: ['http/1.1'], ok: true, proto: 'http/1.1', cert: 'normal' },
    { name: 'browser offering both', sni: 'acme.example.test', alpn: ['http/1.1', 'h2'], ok: true, proto: 'h2', cert: 'normal' },
    { name: 'HTTP/2 only', sni: 'acme.example.test', alpn: ['h2'], ok: true, proto: 'h2', cert: 'normal' },
    { name: 'no ALPN at all', sni: 'acme.example.test', alpn: undefined, ok: true, proto: false, cert: 'normal' },
    { name: 'acme-tls/1 without a pending challenge', sni: 'other.example.test', alpn: ['acme-tls/1'], ok: false, proto: undefined, cert: undefined },
  ];
  for (const c of cases) {
    const h = await handshake(port, c.sni, c.alpn ? { ALPNProtocols: c.alpn } : {});
    t.equal(h.ok, c.ok, `${c.name}: handshake ${c.ok ? 'succeeds' : 'fails'}`);
    if (!c.ok) continue;
    t.equal(h.alpn, c.proto, `${c.name}: protocol`);
    t.equal(cn(h.cert?.subject), c.cert, `${c.name}: certificate`);
  }
  challenges.deleteAlpnCertificate('acme.example.test');
  t.notOk((await handshake(port, 'acme.example.test', { ALPNProtocols: ['acme-tls/1'] })).ok, 'removed challenge is no longer answered');
});

t.test('alpnProtocols: the server picks in its own order, and only what the list has', async (t) => {
  const store = new CertificateStore();
  store.setGroup('file', [selfSigned('normal', ['app.example.test'])]);
  const cases: { alpnProtocols?: string[]; client: string[]; proto: string | undefined }[] = [
    { client: ['http/1.1', 'h2'], proto: 'h2' },
    { alpnProtocols: ['http/1.1', 'h2'], client: ['h2', 'http/1.1'], proto: 'http/1.1' },
    { alpnProtocols: ['http/1.1'], client: ['h2', 'http/1.1'], proto: 'http/1.1' },
    { alpnProtocols: ['http/1.1'], client: ['h2'], proto: undefined },
  ];
  for (const c of cases) {
    const { port } = await serve(t, store, new ChallengeRegistry(), c.alpnProtocols ? { alpnProtocols: c.alpnProtocols } : {});
    const h = await handshake(port, 'app.example.test', { ALPNProtocols: c.client });
    const name = `server ${JSON.stringify(c.alpnProtocols ?? 'default')}, client ${JSON.stringify(c.client)}`;
    if (c.proto === undefined) t.notOk(h.ok, `${name}: no handshake`);
    else t.equal(h.alpn, c.proto, `${name}: ${c.proto}`);
  }
});

t.test('TLS options', async (t) => {
  const store = new CertificateStore();
  store.setGroup('file', [selfSigned('app', ['app.example.test'])]);
  const challenges = new ChallengeRegistry();
  const cases: { opts: TlsOptions; client: object; ok: boolean }[] = [
    { opts: {}, client: { maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, ok: false },
    { opts: {}, client: { maxVersion: 'TLSv1.2' }, ok: true },
    { opts: { minVersion: 'VersionTLS13' }, client: { maxVersion: 'TLSv1.2' }, ok: false },
    { opts: { minVersion: 'VersionTLS13' }, client: {}, ok: true },
    { opts: { cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'] }, client: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, ok: false },
    { opts: { cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'] }, client: { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }, ok: true },
    { opts: { curvePreferences: ['CurveP384'] }, client: { ecdhCurve: 'P-256' }, ok: false },
    { opts: { curvePreferences: ['CurveP384', 'X25519'] }, client: { ecdhCurve: 'X25519' }, ok: true },
  ];
  for (const c of cases) {
    const { port } = await serve(t, store, challenges, c.opts);
    const h = await handshake(port, 'app.example.test', c.client);
    t.equal(h.ok, c.ok, `${JSON.stringify(c.opts)} with client ${JSON.stringify(c.client)}: ${c.ok ? 'connects' : 'refused'}${h.error ? ` (${h.error})` : ''}`);
  }

  const bad: { opts: TlsOptions; path: string }[] = [
    { opts: { minVersion: 'VersionTLS14' }, path: 'tls.options.strict.minVersion' },
    { opts: { cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_NOPE'] }, path: 'tls.options.strict.cipherSuites[1]' },
    { opts: { curvePreferences: ['CurveP999'] }, path: 'tls.options.strict.curvePreferences[0]' },
    { opts: { maxVersion: 'VersionTLS9' }, path: 'tls.options.strict.maxVersion' },
    { opts: { minVersion: 'VersionTLS13', maxVersion: 'VersionTLS12' }, path: 'tls.options.strict.maxVersion' },
    { opts: { alpnProtocols: ['http/1.1', 'h3'] }, path: 'tls.options.strict.alpnProtocols[1]' },
  ];
  for (const b of bad) {
    t.throws(() => secureContextSettings(b.opts, 'tls.options.strict'), { code: 'CONFIG_INVALID', path: b.path }, b.path);
  }
});

t.test('listing and status', async (t) => {
  const store = new CertificateStore();
  const cases = [
    { name: 'fresh.example.test', from: -HOUR, to: 10 * HOUR, status: 'valid' },
    { name: 'due.example.test', from: -10 * HOUR, to: HOUR, status: 'expiring' },
    { name: 'old.example.test', from: -10 * HOUR, to: -HOUR, status: 'expired' },
  ];
  for (const c of cases) store.put('le', c.name, selfSigned(c.name, [c.name], 'le', c.from, c.to));
  const listed = store.certificates();
  for (const c of cases) {
    const l = listed.find((x) => x.domains[0] === c.name);
    t.equal(l?.status, c.status, `${c.name}: ${c.status}`);
    t.equal(l?.resolver, 'le');
    t.equal(l?.issuer, c.name);
    t.match(l?.notAfter, /^\d{4}-\d\d-\d\dT/);
    t.equal(certificateStatus(store.get('le', c.name)!), c.status);
  }
  t.throws(() => loadCertificate('not a pem', 'nope', 'file', 'tls.certificates[3]'), { code: 'CONFIG_INVALID', path: 'tls.certificates[3]' });
});
