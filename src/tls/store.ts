/**
 * The certificates the HTTPS listeners serve, picked by SNI: an exact name,
 * then a one-label wildcard (`*.example.com`), then certificates issued on
 * demand (the local CA), else the default certificate, or nothing under
 * sniStrict. Certificates live in named groups (`file`, `acme:<resolver>`,
 * `local`); a change rebuilds the name index and swaps it in one
 * assignment, so a handshake sees either the old or the new set and the old
 * certificate serves until its replacement is in.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';
import { CertificateListing, listing, loadCertificate, ServedCertificate } from './certificate';
import { createCertificate, generateEcKeyPair, privateKeyPem } from './x509';

export type { CertificateListing };

interface NameIndex {
  exact: Map<string, ServedCertificate>;
  wildcard: Map<string, ServedCertificate>;
}

export type OnDemandIssuer = (servername: string) => ServedCertificate | undefined;

export class CertificateStore {
  private readonly groups = new Map<string, Map<string, ServedCertificate>>();
  private index: NameIndex = { exact: new Map(), wildcard: new Map() };
  private configuredDefault: ServedCertificate | undefined;
  private generatedDefault: ServedCertificate | undefined;
  private readonly issuers: OnDemandIssuer[] = [];
  private readonly defaultListeners: ((cert: ServedCertificate) => void)[] = [];

  /** Replaces every certificate of a group at once (the file provider's set after a reload). */
  setGroup(group: string, certs: ServedCertificate[]): void {
    this.groups.set(group, new Map(certs.map((c, i) => [String(i), c])));
    this.reindex();
  }

  /** Adds or replaces one certificate of a group (an ACME domain set, a local-CA host); undefined removes it. */
  put(group: string, key: string, cert: ServedCertificate | undefined): void {
    const g = this.groups.get(group) ?? new Map<string, ServedCertificate>();
    if (cert) g.set(key, cert);
    else g.delete(key);
    this.groups.set(group, g);
    this.reindex();
  }

  /** The certificates of the groups whose name starts with `prefix` (a worker group's primary shares its ACME ones). */
  entries(prefix: string): { group: string; key: string; cert: ServedCertificate }[] {
    return [...this.groups].filter(([g]) => g.startsWith(prefix)).flatMap(([group, certs]) => [...certs].map(([key, cert]) => ({ group, key, cert })));
  }

  get(group: string, key: string): ServedCertificate | undefined {
    return this.groups.get(group)?.get(key);
  }

  /** Consulted, in order, for names no stored certificate covers. */
  addOnDemandIssuer(issuer: OnDemandIssuer): void {
    this.issuers.push(issuer);
  }

  /** The configured default certificate, or undefined to go back to the generated one. */
  setDefault(cert: ServedCertificate | undefined): void {
    const before = this.defaultCertificate();
    this.configuredDefault = cert;
    const after = this.defaultCertificate();
    if (after !== before) for (const l of this.defaultListeners) l(after);
  }

  /** Traefik's behaviour: without a configured default, a self-signed one made once per process. */
  defaultCertificate(): ServedCertificate {
    if (this.configuredDefault) return this.configuredDefault;
    this.generatedDefault ??= generateDefaultCertificate();
    return this.generatedDefault;
  }

  /** Listeners need the default for clients that send no SNI (SNICallback is not called then). Returns an unsubscribe function. */
  onDefaultChange(listener: (cert: ServedCertificate) => void): () => void {
    this.defaultListeners.push(listener);
    return () => {
      const i = this.defaultListeners.indexOf(listener);
      if (i >= 0) this.defaultListeners.splice(i, 1);
    };
  }

  /** The certificate for a server name, without falling back to the default. */
  match(servername: string): ServedCertificate | undefined {
    const name = servername.toLowerCase().replace(/\.$/, '');
    if (!name) return undefined;
    const hit = this.index.exact.get(name);
    if (hit) return hit;
    const dot = name.indexOf('.');
    const wild = dot > 0 ? this.index.wildcard.get(name.slice(dot + 1)) : undefined;
    if (wild) return wild;
    for (const issue of this.issuers) {
      const issued = issue(name);
      if (issued) return issued;
    }
    return undefined;
  }

  secureContext(servername: string, opts: { sniStrict?: boolean } = {}): tls.SecureContext | undefined {
    return this.match(servername)?.context ?? (opts.sniStrict ? undefined : this.defaultCertificate().context);
  }

  certificates(now = Date.now()): CertificateListing[] {
    const all = [...this.groups.values()].flatMap((g) => [...g.values()]);
    if (this.configuredDefault) all.push(this.configuredDefault);
    return all.map((c) => listing(c, now));
  }

  private reindex(): void {
    const now = Date.now();
    const next: NameIndex = { exact: new Map(), wildcard: new Map() };
    // Prefer an unexpired certificate, then the one that lasts longest.
    const better = (a: ServedCertificate, b: ServedCertificate | undefined): boolean => {
      if (!b) return true;
      const aLive = a.notAfter.getTime() > now;
      return aLive !== b.notAfter.getTime() > now ? aLive : a.notAfter > b.notAfter;
    };
    for (const group of this.groups.values()) {
      for (const cert of group.values()) {
        for (const d of cert.domains) {
          const [map, key] = d.startsWith('*.') ? [next.wildcard, d.slice(2)] : [next.exact, d];
          if (better(cert, map.get(key))) map.set(key, cert);
        }
      }
    }
    this.index = next;
  }
}

function generateDefaultCertificate(): ServedCertificate {
  const keys = generateEcKeyPair();
  const now = Date.now();
  const certPem = createCertificate({
    subject: { commonName: 'PORTIER DEFAULT CERT' },
    ...keys,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 365 * 86400_000),
    altNames: [`${crypto.randomBytes(16).toString('hex')}.portier.default`],
  });
  return loadCertificate(certPem, privateKeyPem(keys.privateKey), 'default');
}
