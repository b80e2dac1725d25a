/**
 * The locked-order flow of an ACME resolver (acme.ts): with shared storage
 * (shared-storage.ts), take the domain set's lock, read the store again,
 * order at the CA with the challenges published, write the certificate for
 * the other instances, release; without, the order alone. The resolver
 * keeps its state and its account and lends them through OrderHost.
 */
import tls from 'node:tls';
import type * as acme from 'acme-client';
import { acmeClient } from '../libraries';
import { errorMessage } from '../errors';
import type { Logger } from '../log/logger';
import type { AcmeStorageData, StoredCertificate } from './acme-storage';
import { withAcmeScope } from './acme-transport';
import { retryDelay } from './acme-renewal';
import { covers, loadCertificate } from './certificate';
import { alpnChallengeValue, type ChallengeRegistry } from './challenges';
import type { DnsChallenger } from './acme-dns';
import type { ChallengeRecord } from './dns/index';
import type { AcmeResolverOptions, KeyType } from './resolver-options';
import type { SharedStore } from './shared-storage';
import type { CertificateStore } from './store';
import type { AcmeTuning } from './acme';

export interface DomainSet {
  main: string;
  sans: string[];
}

export function domainSetKey(set: DomainSet): string {
  const main = set.main.toLowerCase();
  const sans = [...new Set(set.sans.map((s) => s.toLowerCase()))].filter((s) => s !== main).sort();
  return [main, ...sans].join(',');
}

export interface ResolverDeps {
  store: CertificateStore;
  challenges: ChallengeRegistry;
  logger: Logger;
  storageFile: string;
  tuning?: AcmeTuning;
  dns?: DnsChallenger;
  shared?: SharedStore;
}

/** What an order needs of its resolver. */
export interface OrderHost {
  /** The resolver's account, certificates and failures, updated in place. */
  data(): AcmeStorageData;
  /** Saves them (the storage file; nothing with shared storage). */
  persist(): void;
  /** Adopts what other instances stored. */
  refresh(): Promise<void>;
  due(c: StoredCertificate): boolean;
  account(): Promise<acme.Client>;
  /** Drops the registered client so that the next order registers again. */
  forgetAccount(): void;
}

const REQUEST_TIMEOUT_MS = 30_000;

export class AcmeOrders {
  constructor(
    private readonly name: string,
    private readonly group: string,
    private readonly opts: AcmeResolverOptions,
    private readonly deps: ResolverDeps,
    private readonly signal: AbortSignal,
    private readonly host: OrderHost,
  ) {}

  private get data(): AcmeStorageData {
    return this.host.data();
  }

  /**
   * With shared storage, one instance of the cluster orders a domain set: the
   * one that takes its lock, after checking that no other has just stored it.
   */
  async obtain(key: string, names: string[]): Promise<void> {
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
      await this.host.refresh();
      const current = this.data.certificates.find((c) => names.every((n) => covers([c.main, ...c.sans], n)));
      if (current && !this.host.due(current)) return;
      await this.obtainLocked(key, names);
    } finally {
      await lock.release();
    }
  }

  private async obtainLocked(key: string, names: string[]): Promise<void> {
    const { signal } = this;
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
    this.host.persist();
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
      this.host.persist();
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
        this.host.forgetAccount();
      }
      this.data.failures[key].lastError = errorMessage(err);
      this.host.persist();
      log.warn('ACME: order failed, will retry', { attempts, nextAttemptAt: this.data.failures[key].nextAttemptAt, error: errorMessage(err) });
    }
  }

  /**
   * An order abandoned by close() may still be between two requests: its
   * steps check for the stop, so that it neither writes the storage file
   * nor publishes a challenge afterwards.
   */
  private async order(names: string[]): Promise<{ certificate: string; key: string; challenges: string[] }> {
    const { signal } = this;
    const client = await this.host.account();
    const [key, csr] = await acmeClient().crypto.createCsr({ commonName: names[0], altNames: names }, await createKey(this.opts.keyType));
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
          await this.deps.shared?.putChallenge('http', challenge.token, keyAuthorization);
        } else if ((challenge.type as string) === 'tls-alpn-01') {
          const [k, cert] = await acmeClient().crypto.createAlpnCertificate(authz, keyAuthorization, await acmeClient().crypto.createPrivateEcdsaKey('P-256'));
          signal.throwIfAborted();
          challenges.setAlpnCertificate(authz.identifier.value, tls.createSecureContext({ key: k, cert }));
          await this.deps.shared?.putChallenge('tls-alpn', authz.identifier.value.toLowerCase(), alpnChallengeValue(cert.toString(), k.toString()));
        } else if (challenge.type === 'dns-01' && dns) {
          const record = await dns.record(client, authz, challenge, keyAuthorization);
          published.set(challenge.url, record);
          await dns.present(record, signal);
        } else throw new Error(`unexpected challenge type ${challenge.type}`);
      },
      challengeRemoveFn: async (authz, challenge) => {
        if (challenge.type === 'http-01') {
          challenges.deleteHttpToken(challenge.token);
          await this.deps.shared?.deleteChallenge('http', challenge.token);
        } else if (challenge.type === 'dns-01') {
          const record = published.get(challenge.url);
          published.delete(challenge.url);
          if (record && dns) await dns.cleanup(record).catch((err) => this.deps.logger.warn('ACME: the DNS-01 record could not be removed', { resolver: this.name, fqdn: record.fqdn, error: errorMessage(err) }));
        } else {
          challenges.deleteAlpnCertificate(authz.identifier.value);
          await this.deps.shared?.deleteChallenge('tls-alpn', authz.identifier.value.toLowerCase());
        }
      },
    });
    return { certificate, key: key.toString(), challenges: [...used].sort() };
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

async function createKey(type: KeyType): Promise<Buffer> {
  switch (type) {
    case 'EC256':
      return acmeClient().crypto.createPrivateEcdsaKey('P-256');
    case 'EC384':
      return acmeClient().crypto.createPrivateEcdsaKey('P-384');
    case 'RSA2048':
      return acmeClient().crypto.createPrivateRsaKey(2048);
    case 'RSA4096':
      return acmeClient().crypto.createPrivateRsaKey(4096);
  }
}
