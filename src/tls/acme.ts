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
import type * as acme from 'acme-client';
import { acmeClient } from '../libraries';
import { configError, errorMessage, PortierError } from '../errors';
import { AcmeStorage, AcmeStorageData, StoredCertificate } from './acme-storage';
import { AcmeOrders, DomainSet, domainSetKey, ResolverDeps } from './acme-order';
import { trustAcmeServer } from './acme-transport';
import { renewalCheckInterval, renewalDue } from './acme-renewal';
import { CertificateListing, covers, listing, loadCertificate } from './certificate';
import { AcmeResolverOptions } from './resolver-options';


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

/** An ACME domain set without a certificate whose last order failed (`/api/tls/orders`). */
export interface FailedOrder {
  domains: string[];
  resolver: string;
  lastError: string;
  lastAttemptAt: string;
  nextAttemptAt: string;
  attempts: number;
}


export class AcmeResolver {
  readonly group: string;
  private readonly storage: AcmeStorage;
  private readonly orders: AcmeOrders;
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
    private readonly deps: ResolverDeps,
  ) {
    this.group = `acme:${name}`;
    this.storage = new AcmeStorage(deps.storageFile, `certificatesResolvers.${name}.acme.storage`);
    this.orders = new AcmeOrders(name, this.group, opts, deps, this.stopping.signal, {
      data: () => this.data,
      persist: () => this.persist(),
      refresh: () => this.refresh(),
      due: (c) => this.due(c),
      account: () => this.account(),
      forgetAccount: () => (this.client = undefined),
    });
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
        p = this.limited(() => this.orders.obtain(key, names)).finally(() => this.inflight.delete(key));
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

  /** The ACME account: its key is created once and stored; registration (or lookup) once per process. */
  private async account(): Promise<acme.Client> {
    if (this.client) return this.client;
    const { signal } = this.stopping;
    if (!this.data.account || this.data.caServer !== this.opts.caServer) {
      const key = (await acmeClient().crypto.createPrivateEcdsaKey('P-256')).toString();
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
    const client = new (acmeClient().Client)({
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

function accountUrlOf(client: acme.Client): string | undefined {
  try {
    return client.getAccountUrl();
  } catch {
    return undefined;
  }
}
