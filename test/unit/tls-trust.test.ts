/**
 * `portier trust` / `portier untrust` against a copy of the system trust
 * store: Debian's real update-ca-certificates run on temporary directories,
 * and a real NSS database made with certutil. After trust, OpenSSL accepts
 * a local-CA leaf through the hashed directory; after untrust it no longer
 * does.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalCa } from '../../src/tls/local-ca';
import { trustCommand } from '../../src/tls/trust';

const missing = ['/usr/sbin/update-ca-certificates', '/usr/bin/certutil', '/usr/bin/openssl'].filter((f) => !fs.existsSync(f));

t.test('trust and untrust on a copy of the trust store', async (t) => {
  if (missing.length) {
    if (process.env.CI === 'true') t.fail(`missing ${missing.join(', ')} (test/setup/install.sh installs them)`);
    else {
      process.stderr.write(`\n*** SKIPPING trust test: missing ${missing.join(', ')} ***\n\n`);
      t.plan(0, 'skipped: tools missing');
    }
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-trust-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const opts = {
    dataDir: path.join(dir, 'data'),
    caCertsDir: path.join(dir, 'local-ca-certificates'),
    systemCertsDir: path.join(dir, 'etc-ssl-certs'),
    hooksDir: path.join(dir, 'hooks'),
    nssDb: path.join(dir, 'nssdb'),
  };
  for (const d of [opts.systemCertsDir, opts.hooksDir, opts.nssDb]) fs.mkdirSync(d);
  execFileSync('certutil', ['-N', '-d', `sql:${opts.nssDb}`, '--empty-password']);
  const ca = new LocalCa({ dataDir: opts.dataDir });
  const leafFile = path.join(dir, 'leaf.pem');
  fs.writeFileSync(leafFile, ca.issue('app.shop.localhost').certPem);

  const verify = (): boolean =>
    spawnSync('openssl', ['verify', '-no-CAfile', '-no-CAstore', '-CApath', opts.systemCertsDir, '-verify_hostname', 'app.shop.localhost', leafFile]).status === 0;
  const nssHasRoot = (): boolean => spawnSync('certutil', ['-L', '-d', `sql:${opts.nssDb}`, '-n', 'Portier Local CA']).status === 0;
  const bundle = (): string => fs.readFileSync(path.join(opts.systemCertsDir, 'ca-certificates.crt'), 'utf8');

  t.notOk(verify(), 'before: the leaf is not trusted');
  const steps: { action: 'trust' | 'untrust'; trusted: boolean; says: RegExp[] }[] = [
    { action: 'trust', trusted: true, says: [/copied the Portier local CA root/, /ran .*update-ca-certificates/, /added to the NSS database/, /to undo: portier untrust/] },
    { action: 'trust', trusted: true, says: [/copied/] },
    { action: 'untrust', trusted: false, says: [/removed .*portier-local-ca\.crt/, /--fresh/, /removed from the NSS database/, /to trust again: portier trust/] },
  ];
  for (const s of steps) {
    const lines: string[] = [];
    t.equal(await trustCommand(s.action, { ...opts, print: (l) => lines.push(l) }), 0, `${s.action}: exit 0`);
    for (const re of s.says) t.match(lines.join('\n'), re, `${s.action}: says ${re}`);
    t.equal(verify(), s.trusted, `${s.action}: openssl verify through the store ${s.trusted ? 'succeeds' : 'fails'}`);
    t.equal(bundle().includes(ca.rootPem().trim().split('\n')[1]), s.trusted, `${s.action}: bundle ${s.trusted ? 'has' : 'lacks'} the root`);
    t.equal(fs.existsSync(path.join(opts.caCertsDir, 'portier-local-ca.crt')), s.trusted);
    if (s.action === 'trust') t.match(execFileSync('certutil', ['-L', '-d', `sql:${opts.nssDb}`]).toString(), /Portier Local CA\s+C,,/, 'NSS trusts it for TLS servers');
    t.equal(nssHasRoot(), s.trusted, `${s.action}: NSS database ${s.trusted ? 'has' : 'lacks'} the root`);
  }

  const lines: string[] = [];
  const blocked = path.join(dir, 'a-file');
  fs.writeFileSync(blocked, '');
  t.equal(await trustCommand('trust', { ...opts, caCertsDir: path.join(blocked, 'sub'), print: (l) => lines.push(l) }), 1, 'an unwritable store fails');
  t.match(lines.join('\n'), /cannot write .*a-file\/sub\/portier-local-ca\.crt/);
});
