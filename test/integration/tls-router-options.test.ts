/**
 * Per-router TLS options and mutual TLS on one HTTPS port, with curl: the
 * options are chosen by SNI before the handshake, so TLS 1.2 is refused for
 * one router and accepted for another; client certificates are required and
 * verified for one router, and passTLSClientCert hands them to the backend
 * in Traefik's header format.
 */
import t from 'tap';
import crypto from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { startEchoBackend } from '../helpers/echo';

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** A CA and certificates it signs, made with openssl. */
function makePki(dir: string): void {
  const ossl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) ossl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=Portier Test ${ca}`);
  const leaf = (name: string, ca: string, subj: string, san: string): void => {
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  leaf('server', 'ca', '/CN=opts.test', 'DNS:*.opts.test');
  leaf('alice', 'ca', '/O=Portier/OU=QA/CN=alice', 'DNS:alice.example,email:alice@example.com');
  leaf('mallory', 'other-ca', '/CN=mallory', 'DNS:mallory.example');
}

t.test('TLS options per router on one port; mutual TLS and passTLSClientCert', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-opts-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  makePki(dir);
  const echo = await startEchoBackend('opts-app');
  t.teardown(() => echo.close());
  const f = (name: string): string => path.join(dir, name);
  const router = (name: string, extra = ''): string => `    ${name}:
      rule: Host(\`${name}.opts.test\`)
      service: app
      tls: {${extra}}
`;
  const dynamic = `http:
  routers:
${router('old')}${router('new', ' options: modern ')}${router('mtls', ' options: mtls ')}    mtls-info:
      rule: Host(\`mtls.opts.test\`) && PathPrefix(\`/info\`)
      service: app
      middlewares: [certs]
      tls: { options: mtls }
${router('optional', ' options: optional ')}${router('both', ' options: modern ')}    both-default:
      rule: Host(\`both.opts.test\`) && PathPrefix(\`/x\`)
      service: app
      tls: {}
${router('broken', ' options: broken ')}
  middlewares:
    certs:
      passTLSClientCert:
        pem: true
        info:
          notBefore: true
          sans: true
          serialNumber: true
          subject: { commonName: true, organization: true, organizationalUnit: true }
          issuer: { commonName: true }
  services:
    app:
      loadBalancer:
        servers:
          - url: ${echo.url}
tls:
  certificates:
    - certFile: ${f('server.pem')}
      keyFile: ${f('server.key')}
  options:
    modern:
      minVersion: VersionTLS13
    mtls:
      clientAuth:
        caFiles: [${f('ca.pem')}]
    optional:
      clientAuth:
        caFiles: [${f('ca.pem')}]
        clientAuthType: VerifyClientCertIfGiven
    broken:
      clientAuth:
        clientAuthType: RequireAndVerifyClientCert
`;
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': `entryPoints:\n  websecure:\n    address: 127.0.0.1:0\nproviders:\n  file:\n    filename: dynamic.yaml\n    watch: false\ndataDir: ./data\n`,
    'dynamic.yaml': dynamic,
  });
  const port = portier.gateway.port('websecure');
  const to = (host: string, p = '/'): string[] => ['--cacert', f('ca.pem'), '--resolve', `${host}.opts.test:${port}:127.0.0.1`, `https://${host}.opts.test:${port}${p}`];
  const alice = ['--cert', f('alice.pem'), '--key', f('alice.key')];
  const mallory = ['--cert', f('mallory.pem'), '--key', f('mallory.key')];

  const cases: { name: string; args: string[]; ok: boolean }[] = [
    { name: 'default options: TLS 1.2 accepted', args: ['--tls-max', '1.2', ...to('old')], ok: true },
    { name: 'modern (minVersion TLS 1.3): TLS 1.2 refused', args: ['--tls-max', '1.2', ...to('new')], ok: false },
    { name: 'modern: TLS 1.3 accepted', args: to('new'), ok: true },
    { name: 'one host, two routers with different options: default applies', args: ['--tls-max', '1.2', ...to('both')], ok: true },
    { name: 'mtls: no client certificate refused', args: to('mtls'), ok: false },
    { name: 'mtls: a certificate from another CA refused', args: [...mallory, ...to('mtls')], ok: false },
    { name: 'mtls: a certificate the CA signed accepted', args: [...alice, ...to('mtls')], ok: true },
    { name: 'mtls over TLS 1.2 too', args: ['--tls-max', '1.2', ...alice, ...to('mtls')], ok: true },
    { name: 'VerifyClientCertIfGiven: none given accepted', args: to('optional'), ok: true },
    { name: 'VerifyClientCertIfGiven: an unverified one refused', args: [...mallory, ...to('optional')], ok: false },
    { name: 'invalid options: handshakes for the host refused', args: to('broken'), ok: false },
  ];
  for (const c of cases) {
    const r = await curl(c.args);
    if (c.ok) t.equal(r.code, 0, `${c.name} ${r.stderr}`);
    else t.not(r.code, 0, `${c.name} (curl exit ${r.code})`);
  }

  echo.requests.length = 0;
  const r = await curl(['-H', 'X-Forwarded-Tls-Client-Cert: forged', ...alice, ...to('mtls', '/info')]);
  t.equal(r.code, 0, r.stderr);
  const seen = echo.requests.at(-1)?.headers ?? {};
  const cert = new crypto.X509Certificate(fs.readFileSync(f('alice.pem')));
  t.equal(seen['x-forwarded-tls-client-cert'], fs.readFileSync(f('alice.pem'), 'utf8').replace(/-----(BEGIN|END) CERTIFICATE-----|\n/g, ''), 'the PEM body, as Traefik sends it (a forged value replaced)');
  const info = `Subject="O=Portier,OU=QA,CN=alice";Issuer="CN=Portier Test ca";SerialNumber="${BigInt(`0x${cert.serialNumber}`)}";NB="${Math.floor(Date.parse(cert.validFrom) / 1000)}";SAN="alice.example,alice@example.com"`;
  t.equal(decodeURIComponent(String(seen['x-forwarded-tls-client-cert-info']).replace(/\+/g, ' ')), info, 'the info fields in Traefik\'s order and format');
  t.match(String(seen['x-forwarded-tls-client-cert-info']), /^Subject%3D%22O%3DPortier%2COU%3DQA%2CCN%3Dalice%22%3BIssuer%3D%22CN%3DPortier\+Test\+ca%22/, 'query-escaped as Go does');
  echo.requests.length = 0;
  await curl([...alice, ...to('mtls')]);
  t.equal(echo.requests.at(-1)?.headers['x-forwarded-tls-client-cert'], undefined, 'routers without the middleware pass nothing');
  t.match(portier.tls.certificates().map((c) => c.domains).flat(), ['*.opts.test'], 'the file certificate serves every host');
});
