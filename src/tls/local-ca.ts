/**
 * Portier's local development CA: a root made once and kept in the data
 * directory (key mode 0600), and short-lived leaf certificates issued in
 * process, on demand, per host name, so every `*.localhost` route gets a
 * certificate the browser trusts once the root is trusted (`portier trust`).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PortierError, errorMessage } from '../errors';
import { writeFileAtomicSync } from './atomic-file';
import { invokingUser } from './data-dir';
import { CertificateListing, certificateStatus, listing, loadCertificate, ServedCertificate } from './certificate';
import { createCertificate, generateEcKeyPair, privateKeyPem, Subject } from './x509';

const DAY = 86400_000;

export interface LocalCaOptions {
  /** Portier's data directory; the root lives in `<dataDir>/ca/`. */
  dataDir: string;
  /** Leaf lifetime; short, since a leaf is re-issued in milliseconds. */
  leafValidityMs?: number;
}

interface Root {
  subject: Subject;
  certPem: string;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
}

export class LocalCa {
  readonly certFile: string;
  readonly keyFile: string;
  private readonly leafValidityMs: number;
  private rootCache: Root | undefined;
  private readonly leaves = new Map<string, ServedCertificate>();

  constructor(opts: LocalCaOptions) {
    this.certFile = path.join(opts.dataDir, 'ca', 'root.crt');
    this.keyFile = path.join(opts.dataDir, 'ca', 'root.key');
    this.leafValidityMs = opts.leafValidityMs ?? 7 * DAY;
  }

  /** The root certificate as PEM, creating the CA on first use. */
  rootPem(): string {
    return this.root().certPem;
  }

  /** A certificate for `hostname`, from the cache while more than a third of its life is left. */
  issue(hostname: string): ServedCertificate {
    const name = hostname.toLowerCase();
    const cached = this.leaves.get(name);
    if (cached && certificateStatus(cached) === 'valid') return cached;
    const root = this.root();
    const keys = generateEcKeyPair();
    const now = Date.now();
    const certPem = createCertificate({
      subject: { commonName: name },
      publicKey: keys.publicKey,
      issuer: root,
      // Back-dated a little for clocks that lag behind.
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + this.leafValidityMs),
      altNames: [name],
    });
    const leaf = loadCertificate(certPem, privateKeyPem(keys.privateKey), 'local');
    this.leaves.set(name, leaf);
    return leaf;
  }

  /** The leaves issued so far, for the API. */
  listing(now = Date.now()): CertificateListing[] {
    return [...this.leaves.values()].map((c) => listing(c, now));
  }

  private root(): Root {
    this.rootCache ??= fs.existsSync(this.certFile) ? this.loadRoot() : this.createRoot();
    return this.rootCache;
  }

  private loadRoot(): Root {
    try {
      const mode = fs.statSync(this.keyFile).mode & 0o777;
      if (mode & 0o077) {
        throw new Error(`its key ${this.keyFile} has mode ${mode.toString(8)}; run: chmod 600 ${this.keyFile}`);
      }
      const certPem = fs.readFileSync(this.certFile, 'utf8');
      const privateKey = crypto.createPrivateKey(fs.readFileSync(this.keyFile));
      const cert = new crypto.X509Certificate(certPem);
      if (!cert.checkPrivateKey(privateKey)) throw new Error(`${this.keyFile} is not the key of ${this.certFile}`);
      const commonName = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1] ?? 'Portier Local CA';
      const organization = /(?:^|\n)O=([^\n]+)/.exec(cert.subject)?.[1];
      return { subject: { commonName, organization }, certPem, privateKey, publicKey: cert.publicKey };
    } catch (err) {
      throw new PortierError('CONFIG_INVALID', `cannot use the local CA in ${path.dirname(this.certFile)}: ${errorMessage(err)}`, {
        path: 'certificatesResolvers.local',
        cause: err,
      });
    }
  }

  /**
   * Key and certificate are written to a private staging directory renamed
   * into place in one step, so two processes creating the CA at once (the
   * gateway and `portier trust`) end with one consistent pair: the loser
   * of the rename uses the winner's.
   */
  private createRoot(): Root {
    const keys = generateEcKeyPair();
    const now = Date.now();
    // The user and host in the name tell apart the roots of several machines in one trust store.
    const subject = { organization: 'Portier local development CA', commonName: `Portier Local CA ${os.userInfo().username}@${os.hostname()}` };
    const certPem = createCertificate({ subject, ...keys, isCa: true, notBefore: new Date(now - DAY), notAfter: new Date(now + 10 * 365 * DAY) });
    const caDir = path.dirname(this.certFile);
    const dataDir = path.dirname(caDir);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const staging = fs.mkdtempSync(path.join(dataDir, '.ca-'));
    writeFileAtomicSync(path.join(staging, path.basename(this.keyFile)), privateKeyPem(keys.privateKey), 0o600);
    writeFileAtomicSync(path.join(staging, path.basename(this.certFile)), certPem, 0o644);
    // Made by `sudo portier …` in the user's data directory: the files stay the user's.
    const owner = invokingUser();
    if (owner && dataDir.startsWith(owner.home + path.sep)) {
      for (const p of [dataDir, staging, ...fs.readdirSync(staging).map((f) => path.join(staging, f))]) fs.chownSync(p, owner.uid, owner.gid);
    }
    try {
      fs.renameSync(staging, caDir);
    } catch (err) {
      fs.rmSync(staging, { recursive: true, force: true });
      if (['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) return this.loadRoot();
      throw err;
    }
    return { subject, certPem, ...keys };
  }
}
