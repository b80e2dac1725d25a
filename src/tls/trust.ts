/**
 * `portier trust` / `portier untrust`: installs the local CA's root into the
 * system trust store (Debian's update-ca-certificates) and the user's NSS
 * database (Chromium, Firefox on Linux) when certutil is there, and says
 * what it did and how to undo it. Paths can be redirected (options or
 * PORTIER_CA_CERTS_DIR / PORTIER_SYSTEM_CERTS_DIR) to try it on a copy.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../errors';
import { invokingUser, portierDataDir } from './data-dir';
import { LocalCa } from './local-ca';

export interface TrustOptions {
  dataDir?: string;
  /** Where local CA files go (update-ca-certificates' --localcertsdir). */
  caCertsDir?: string;
  /** The hashed certificate directory and bundle (update-ca-certificates' --etccertsdir). */
  systemCertsDir?: string;
  /** update-ca-certificates' --hooksdir; an empty directory skips the Java keystore hook. */
  hooksDir?: string;
  /** The NSS database; default ~/.pki/nssdb, used only when it exists. */
  nssDb?: string;
  print?: (line: string) => void;
}

const FILE_NAME = 'portier-local-ca.crt';
const NSS_NICKNAME = 'Portier Local CA';

export async function trustCommand(action: 'trust' | 'untrust', opts: TrustOptions = {}): Promise<number> {
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const env = process.env;
  const caCertsDir = opts.caCertsDir ?? env.PORTIER_CA_CERTS_DIR ?? '/usr/local/share/ca-certificates';
  const systemCertsDir = opts.systemCertsDir ?? env.PORTIER_SYSTEM_CERTS_DIR;
  const sudo = invokingUser();
  const nssDb = opts.nssDb ?? path.join(sudo?.home ?? os.homedir(), '.pki', 'nssdb');
  const target = path.join(caCertsDir, FILE_NAME);
  const ca = new LocalCa({ dataDir: opts.dataDir ?? portierDataDir() });
  let failed = false;

  try {
    if (action === 'trust') {
      fs.mkdirSync(caCertsDir, { recursive: true });
      fs.writeFileSync(target, ca.rootPem(), { mode: 0o644 });
      print(`copied the Portier local CA root (${ca.certFile}) to ${target}`);
    } else if (fs.existsSync(target)) {
      fs.rmSync(target);
      print(`removed ${target}`);
    } else {
      print(`${target} was not there`);
    }
  } catch (err) {
    print(`cannot write ${target}: ${errorMessage(err)}`);
    if (process.getuid?.() !== 0) print(`the system trust store belongs to root: run sudo portier ${action}`);
    return 1;
  }

  const update = findTool('update-ca-certificates');
  if (update) {
    const args = ['--localcertsdir', caCertsDir];
    if (systemCertsDir) args.push('--etccertsdir', systemCertsDir);
    if (opts.hooksDir) args.push('--hooksdir', opts.hooksDir);
    // Without --fresh, a removed local root would linger as a stale link.
    if (action === 'untrust') args.push('--fresh');
    const r = await run(update, args);
    print(`ran ${update} ${args.join(' ')}: ${r.out.trim().split('\n').pop() ?? ''}`);
    failed ||= r.code !== 0;
  } else {
    print('update-ca-certificates not found: add the file above to your system trust store by hand');
  }

  const certutil = findTool('certutil');
  if (certutil && fs.existsSync(nssDb)) {
    const db = `sql:${nssDb}`;
    const args =
      action === 'trust' ? ['-d', db, '-A', '-t', 'C,,', '-n', NSS_NICKNAME, '-i', ca.certFile] : ['-d', db, '-D', '-n', NSS_NICKNAME];
    // The browser database belongs to the user: certutil runs as them, so its files stay theirs.
    const r = await run(certutil, args, sudo);
    print(r.code === 0 ? `${action === 'trust' ? 'added to' : 'removed from'} the NSS database ${nssDb} (browsers)` : `certutil failed: ${r.out.trim()}`);
    failed ||= r.code !== 0 && action === 'trust';
  } else if (fs.existsSync(nssDb)) {
    print(`certutil not found: browsers using ${nssDb} will not trust the root (install libnss3-tools and run again)`);
  }

  if (!failed) print(action === 'trust' ? 'done; to undo: portier untrust' : 'done; to trust again: portier trust');
  return failed ? 1 : 0;
}

function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  return dirs.map((d) => path.join(d, name)).find((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function run(cmd: string, args: string[], as?: { uid: number; gid: number }): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, ...(as ? { uid: as.uid, gid: as.gid } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}
