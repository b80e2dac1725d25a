/**
 * An ACME certificate resolver (`certificatesResolvers.<name>.acme`). The
 * gateway calls `ensure()` with the domain sets its routers need whenever the
 * routing table changes; a periodic check renews and retries. Orders run at
 * most `concurrency` at a time, one per domain set; a stored certificate that
 * is not due is served without contacting the CA; a failing set backs off on
 * a schedule persisted in the storage file.
 *
 * `close()` abandons the orders in flight at once (their attempt is already
 * persisted, so the next start keeps to the schedule): an unreachable CA,
 * which acme-client retries with pauses of its own, or one that never
 * answers must not hold up the process's exit. A pause acme-client has
 * begun cannot be cancelled from outside; it runs out unobserved, and the
 * resend after it fails at once without a request (acme-transport.ts).
 */
import fs from 'node:fs';
import tls from 'node:tls';
import * as acme from 'acme-client';
import { configError, errorMessage, PortierError } from '../errors';
import { Logger } from '../log/logger';
import { AcmeStorage, AcmeStorageData, StoredCertificate } from './acme-storage';
import { trustAcmeServer, withAcmeScope } from './acme-transport';
import { renewalCheckInterval, renewalDue, retryDelay } from './acme-renewal';
import { CertificateListing, covers, listing, loadCertificate } from './certificate';
import { ChallengeRegistry } from './challenges';
import { DnsChallenger } from './acme-dns';
import type { ChallengeRecord } from './dns/index';
import { AcmeResolverOptions, KeyType } from './resolver-options';
import type { SharedStore } from './shared-storage';
import { CertificateStore } from './store';

export interface DomainSet {
  main: string;
  sans: string[];
}

/** Knobs for tests; production uses the defaults. */
export interface AcmeTuning {
  /** acme-client's status polling backoff (default 5 s, which makes every order last 5 s). */
  pollBackoffMinMs?: number;
  pollBackoffMaxMs?: number;
  /** Multiplies the retry schedule (1 m, 2 m, 5 m, …). */
  retryScale?: number;
  /** Renew once less than this fraction of the lifetime is left (default 1/3). */
  renewFraction?: number;
  /** How often due certificates and expired backoffs are looked at. */
  checkIntervalMs?: number;
  /** Orders at once (default 2). */
  concurrency?: number;
  /** The longest one request to the CA may take (default 30 s). */
  requestTimeoutMs?: number;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** An ACME domain set without a certificate whose last order failed (`/api/tls/orders`). */
export interface FailedOrder {
  domains: string[];
  resolver: string;
  lastError: string;
  lastAttemptAt: string;
  nextAttemptAt: string;
  attempts: number;
}

export function domainSetKey(set: DomainSet): string {
  const main = set.main.toLowerCase();
  const sans = [...new Set(set.sans.map((s) => s.toLowerCase()))].filter((s) => s !== main).sort();
  return [main, ...sans].join(',');
}

export class AcmeResolver {
  readonly group: string;
  private readonly storage: AcmeStorage;
  private data!: AcmeStorageData;
  private client: acme.Client | undefined;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly queue: (() => void)[] = [];
  private running = 0;
  private wanted: DomainSet[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  /** Names already logged as impossible to order, so the periodic check does not repeat it. */
  private readonly reported = new Set<string>();
  /** With shared storage: settles once the store's account and certificates are loaded. */
  private ready: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly opts: AcmeResolverOptions,
    private readonly deps: { store: CertificateStore; challenges: ChallengeRegistry; logger: Logger; storageFile: string; tuning?: AcmeTuning; dns?: DnsChallenger; shared?: SharedStore },
  ) {
    this.group = `acme:${name}`;
    this.storage = new AcmeStorage(deps.storageFile, `certificatesResolvers.${name}.acme.storage`);
  }

  /** Loads the storage file (throws a configuration error naming it if unusable) and serves what it holds. */
  start(): void {
    this.data = this.deps.shared ? { version: 1, certificates: [], failures: {} } : this.storage.load();
    for (const c of this.data.certificates) this.serve(c);
    const { shared } = this.deps;
    if (shared) {
      this.ready = this.refresh();
      shared.onCertificate((resolver) => void (resolver === this.name && this.refresh()));
    }
    const pems = (this.opts.caCertificates ?? []).map((f, i) => {
      try {
        return fs.readFileSync(f, 'utf8');
      } catch (err) {
        throw configError(`certificatesResolvers.${this.name}.acme.caCertificates[${i}]`, `cannot read ${f}: ${errorMessage(err)}`);
      }
    });
    if (pems.length) trustAcmeServer(this.opts.caServer, pems);
    const every = this.deps.tuning?.checkIntervalMs ?? renewalCheckInterval(this.opts.certificatesDuration);
    this.timer = setInterval(() => void this.ensure(this.wanted), every);
    this.timer.unref();
  }

  /**
   * Makes sure every set has a current certificate: orders missing and due
   * ones unless their set is backing off. Resolves when the orders this call
   * started have settled; never rejects (failures are logged and persisted).
   */
  async ensure(sets: DomainSet[]): Promise<void> {
    this.wanted = sets;
    await this.ready;
    if (this.deps.shared) await this.refresh();
    const work: Promise<void>[] = [];
    for (const set of sets) {
      if (this.stopping.signal.aborted) break;
      const key = domainSetKey(set);
      const names = key.split(',');
      const unsupported = names.find((n) => (n.startsWith('*.') && !this.deps.dns) || /^[\d.]+$|:/.test(n));
      if (unsupported) {
        if (this.reported.has(unsupported)) continue;
        this.reported.add(unsupported);
        this.deps.logger.error('ACME: cannot order this name (wildcards need DNS-01, IPs are not supported)', { resolver: this.name, domain: unsupported });
        continue;
      }
      // A set whose names another wanted set covers (a.zone under *.zone) needs no certificate of its own.
      if (sets.some((other) => other !== set && domainSetKey(other) !== key && names.every((n) => covers([other.main, ...other.sans].map((d) => d.toLowerCase()), n)))) continue;
      const current = this.data.certificates.find((c) => names.every((n) => covers([c.main, ...c.sans], n)));
      if (current && !this.due(current)) continue;
      const failure = this.data.failures[key];
      if (failure && Date.parse(failure.nextAttemptAt) > Date.now()) continue;
      let p = this.inflight.get(key);
      if (!p) {
        p = this.limited(() => this.obtain(key, names)).finally(() => this.inflight.delete(key));
        this.inflight.set(key, p);
      }
      work.push(p);
    }
    await Promise.all(work);
  }

  /** Stops: orders in flight are abandoned (their requests aborted), and close() resolves once they have let go. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopping.abort(new PortierError('STOPPED', `ACME resolver ${this.name} stopped`));
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** What the API shows of each stored certificate: the challenges that validated it, its set's last failed renewal. */
  listings(now = Date.now()): CertificateListing[] {
    const out: CertificateListing[] = [];
    for (const c of this.data.certificates) {
      const key = domainSetKey(c);
      const served = this.deps.store.get(this.group, key);
      if (!served) continue;
      out.push({ ...listing(served, now), ...(c.challenges ? { challenges: c.challenges } : {}), ...(c.renewedAt ? { renewedAt: c.renewedAt } : {}), ...this.failure(key) });
    }
    return out;
  }

  /** Domain sets with no certificate whose last order failed (not those in flight). */
  failedOrders(): FailedOrder[] {
    const held = new Set(this.data.certificates.map(domainSetKey));
    return Object.keys(this.data.failures)
      .filter((key) => !held.has(key) && !this.inflight.has(key))
      .map((key) => ({ domains: key.split(','), resolver: this.name, ...(this.failure(key) as Required<ReturnType<AcmeResolver['failure']>>) }));
  }

  private failure(key: string): { lastError?: string; lastAttemptAt?: string; nextAttemptAt?: string; attempts?: number } {
    const f = this.data.failures[key];
    return f ? { lastError: f.lastError, lastAttemptAt: f.lastAttemptAt, nextAttemptAt: f.nextAttemptAt, attempts: f.attempts } : {};
  }

  /** The domain sets whose orders are in flight or waiting for a slot. */
  pending(): string[] {
    return [...this.inflight.keys()];
  }

  private due(c: StoredCertificate): boolean {
    return renewalDue(new Date(c.notBefore), new Date(c.notAfter), Date.now(), this.deps.tuning?.renewFraction);
  }

  private serve(c: StoredCertificate): void {
    try {
      this.deps.store.put(this.group, domainSetKey(c), loadCertificate(c.certificate, c.key, this.name, this.storage.file));
    } catch (err) {
      this.data.certificates = this.data.certificates.filter((x) => x !== c);
      this.deps.logger.error('ACME: stored certificate unusable, it will be ordered again', { resolver: this.name, domains: [c.main, ...c.sans], error: errorMessage(err) });
    }
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    const max = this.deps.tuning?.concurrency ?? 2;
    if (this.running < max) this.running++;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await fn();
    } finally {
      // A finished order hands its slot straight to the next one in line.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }

  /**
   * With shared storage, one instance of the cluster orders a domain set: the
   * one that takes its lock, after checking that no other has just stored it.
   */
  private async obtain(key: string, names: string[]): Promise<void> {
    const { shared } = this.deps;
    if (!shared) return this.obtainLocked(key, names);
    let lock: { release(): Promise<void> } | undefined;
    try {
      lock = await shared.lock(this.name, key);
    } catch (err) {
      shared.noteError(err);
      this.deps.logger.warn('ACME: the shared storage does not answer, no order', { resolver: this.name, domains: names, storage: shared.label, error: errorMessage(err) });
      return;
    }
    if (!lock) {
      this.deps.logger.debug('ACME: another instance is ordering this domain set', { resolver: this.name, domains: names });
      return;
    }
    try {
      await this.refresh();
      const current = this.data.certificates.find((c) => names.every((n) => covers([c.main, ...c.sans], n)));
      if (current && !this.due(current)) return;
      await this.obtainLocked(key, names);
    } finally {
      await lock.release();
    }
  }

  private persist(): void {
    if (!this.deps.shared) this.storage.save(this.data);
  }

  /** Adopts the shared store's account and the certificates other instances stored. */
  private async refresh(): Promise<void> {
    const shared = this.deps.shared!;
    try {
      const [account, certs] = await Promise.all([shared.account(this.name), shared.certificates(this.name)]);
      if (account && account.key !== this.data.account?.key) {
        this.data.account = { key: account.key, url: account.url, email: account.email };
        this.data.caServer = account.caServer;
        this.client = undefined;
      } else if (account?.url && this.data.account) this.data.account.url = account.url;
      for (const c of certs) {
        const k = domainSetKey(c);
        if (this.data.certificates.some((x) => domainSetKey(x) === k && x.certificate === c.certificate)) continue;
        this.data.certificates = [...this.data.certificates.filter((x) => domainSetKey(x) !== k), c];
        delete this.data.failures[k];
        this.serve(c);
      }
    } catch (err) {
      shared.noteError(err);
      this.deps.logger.warn('ACME: cannot read the shared storage', { resolver: this.name, storage: shared.label, error: errorMessage(err) });
    }
  }

  private async obtainLocked(key: string, names: string[]): Promise<void> {
    const { signal } = this.stopping;
    if (signal.aborted) return;
    const log = this.deps.logger.child({ resolver: this.name, domains: names });
    const previous = this.data.failures[key];
    const attempts = (previous?.attempts ?? 0) + 1;
    const started = Date.now();
    // Recorded before the order, so a crash mid-order still counts against the schedule.
    this.data.failures[key] = {
      attempts,
      lastAttemptAt: new Date(started).toISOString(),
      nextAttemptAt: new Date(started + retryDelay(attempts, this.deps.tuning?.retryScale)).toISOString(),
      lastError: previous?.lastError ?? 'order in progress',
    };
    this.persist();
    log.info('ACME: obtaining a certificate', { attempts });
    const timeoutMs = this.deps.tuning?.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    try {
      const { certificate, key: keyPem, challenges } = await untilAborted(withAcmeScope({ signal, timeoutMs }, () => this.order(names)), signal);
      const served = loadCertificate(certificate, keyPem, this.name);
      const stored: StoredCertificate = {
        main: names[0],
        sans: names.slice(1),
        certificate,
        key: keyPem,
        notBefore: served.notBefore.toISOString(),
        notAfter: served.notAfter.toISOString(),
        challenges,
        renewedAt: new Date().toISOString(),
      };
      const k = domainSetKey(stored);
      this.data.certificates = [...this.data.certificates.filter((c) => domainSetKey(c) !== k), stored];
      delete this.data.failures[key];
      this.persist();
      if (this.deps.shared) await this.deps.shared.putCertificate(this.name, k, stored);
      this.deps.store.put(this.group, k, served);
      log.info('ACME: certificate obtained', { notAfter: stored.notAfter, ms: Date.now() - started });
    } catch (caught) {
      if (signal.aborted) {
        log.info('ACME: order abandoned, the process is stopping', { attempts });
        return;
      }
      // acme-client hides transport errors (TLS, refused, timed out) behind a TypeError after its retries.
      const err = /reading 'config'/.test(errorMessage(caught))
        ? new Error(
            `cannot reach the ACME server ${this.opts.caServer} (network or TLS error, or no answer within ${timeoutMs / 1000} s; log level debug shows acme-client's details)`,
          )
        : caught;
      // The CA forgot the account (a reset staging CA, a test CA restart): register again next time.
      if (/account.*(does ?not ?exist|not found)|accountDoesNotExist/i.test(errorMessage(err)) && this.data.account) {
        delete this.data.account.url;
        this.client = undefined;
      }
      this.data.failures[key].lastError = errorMessage(err);
      this.persist();
      log.warn('ACME: order failed, will retry', { attempts, nextAttemptAt: this.data.failures[key].nextAttemptAt, error: errorMessage(err) });
    }
  }

  /**
   * An order abandoned by close() may still be between two requests: its
   * steps check for the stop, so that it neither writes the storage file
   * nor publishes a challenge afterwards.
   */
  private async order(names: string[]): Promise<{ certificate: string; key: string; challenges: string[] }> {
    const { signal } = this.stopping;
    const client = await this.account();
    const [key, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, await createKey(this.opts.keyType));
    signal.throwIfAborted();
    // A wildcard's authorization offers dns-01 only, so it takes DNS-01 whatever comes first here.
    const priority = [...(this.opts.tlsChallenge ? ['tls-alpn-01'] : []), ...(this.opts.httpChallenge ? ['http-01'] : []), ...(this.deps.dns ? ['dns-01'] : [])];
    const { challenges, dns } = this.deps;
    const published = new Map<string, ChallengeRecord>();
    const used = new Set<string>();
    const certificate = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      skipChallengeVerification: true,
      challengePriority: priority,
      preferredChain: this.opts.preferredChain,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        signal.throwIfAborted();
        used.add(challenge.type);
        if (challenge.type === 'http-01') {
          challenges.setHttpToken(challenge.token, keyAuthorization);
          await this.deps.shared?.putToken(challenge.token, keyAuthorization);
        } else if ((challenge.type as string) === 'tls-alpn-01') {
          const [k, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, await acme.crypto.createPrivateEcdsaKey('P-256'));
          signal.throwIfAborted();
          challenges.setAlpnCertificate(authz.identifier.value, tls.createSecureContext({ key: k, cert }));
        } else if (challenge.type === 'dns-01' && dns) {
          const record = await dns.record(client, authz, challenge, keyAuthorization);
          published.set(challenge.url, record);
          await dns.present(record, signal);
        } else throw new Error(`unexpected challenge type ${challenge.type}`);
      },
      challengeRemoveFn: async (authz, challenge) => {
        if (challenge.type === 'http-01') {
          challenges.deleteHttpToken(challenge.token);
          await this.deps.shared?.deleteToken(challenge.token).catch((err) => this.deps.shared?.noteError(err));
        } else if (challenge.type === 'dns-01') {
          const record = published.get(challenge.url);
          published.delete(challenge.url);
          if (record && dns) await dns.cleanup(record).catch((err) => this.deps.logger.warn('ACME: the DNS-01 record could not be removed', { resolver: this.name, fqdn: record.fqdn, error: errorMessage(err) }));
        } else challenges.deleteAlpnCertificate(authz.identifier.value);
      },
    });
    return { certificate, key: key.toString(), challenges: [...used].sort() };
  }

  /** The ACME account: its key is created once and stored; registration (or lookup) once per process. */
  private async account(): Promise<acme.Client> {
    if (this.client) return this.client;
    const { signal } = this.stopping;
    if (!this.data.account || this.data.caServer !== this.opts.caServer) {
      const key = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      signal.throwIfAborted();
      this.data.account = { key, email: this.opts.email };
      this.data.caServer = this.opts.caServer;
      this.persist();
      // Concurrent instances agree on one account: the first stored wins.
      if (this.deps.shared) {
        const { key: k, url, email } = await this.deps.shared.claimAccount(this.name, { key, email: this.opts.email, caServer: this.opts.caServer });
        this.data.account = { key: k, url, email };
      }
    }
    const tuning = this.deps.tuning ?? {};
    const client = new acme.Client({
      directoryUrl: this.opts.caServer,
      accountKey: this.data.account.key,
      externalAccountBinding: this.opts.eab ? { kid: this.opts.eab.kid, hmacKey: this.opts.eab.hmacEncoded } : undefined,
      ...(tuning.pollBackoffMinMs !== undefined ? { backoffMin: tuning.pollBackoffMinMs } : {}),
      ...(tuning.pollBackoffMaxMs !== undefined ? { backoffMax: tuning.pollBackoffMaxMs } : {}),
      // A known account is used as is: re-registering an existing key turns into an (empty) account update.
      ...(this.data.account.url ? { accountUrl: this.data.account.url } : {}),
    });
    if (!this.data.account.url) {
      try {
        await client.createAccount({ termsOfServiceAgreed: true, ...(this.opts.email ? { contact: [`mailto:${this.opts.email}`] } : {}) });
      } catch (err) {
        // The CA already knows this key: acme-client then sends an account update, which fails when
        // there is nothing to update (no email), but the account URL came back and is all we need.
        if (!accountUrlOf(client)) throw err;
      }
      signal.throwIfAborted();
      this.data.account.url = client.getAccountUrl();
      this.persist();
      if (this.deps.shared) await this.deps.shared.saveAccount(this.name, { ...this.data.account, caServer: this.opts.caServer });
    }
    this.client = client;
    return client;
  }
}

/**
 * `work`'s outcome, or `signal`'s reason as soon as it is aborted. What
 * `work` still does after that is cut short by the aborted signal (every
 * request it would send fails at once) and its outcome is dropped.
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function accountUrlOf(client: acme.Client): string | undefined {
  try {
    return client.getAccountUrl();
  } catch {
    return undefined;
  }
}

async function createKey(type: KeyType): Promise<Buffer> {
  switch (type) {
    case 'EC256':
      return acme.crypto.createPrivateEcdsaKey('P-256');
    case 'EC384':
      return acme.crypto.createPrivateEcdsaKey('P-384');
    case 'RSA2048':
      return acme.crypto.createPrivateRsaKey(2048);
    case 'RSA4096':
      return acme.crypto.createPrivateRsaKey(4096);
  }
}
