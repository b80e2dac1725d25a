/**
 * The TLS component the gateway plugs in. Built from the static
 * `certificatesResolvers` section; `update()` is called with every new
 * dynamic config and the routers that have `tls`, and keeps the certificate
 * store in step: static certificates, the default certificate, ACME orders
 * for the names routers need, and local-CA certificates for `*.localhost`.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { configError, PortierError, errorMessage } from '../errors';
import { Logger, silentLogger } from '../log/logger';
import { TlsConfig } from '../dynamic/model';
import { AcmeResolver, AcmeTuning, FailedOrder } from './acme';
import { DomainSet, domainSetKey } from './acme-order';
import { loadCertificate, ServedCertificate } from './certificate';
import { ChallengeRegistry } from './challenges';
import { ClusterView, parseSharedStorage, SharedStore, SharedStoreAddress, storageLabel } from './shared-storage';
import { portierDataDir } from './data-dir';
import { LocalCa } from './local-ca';
import { acmeClient } from '../libraries';
import { certificatesResolversDecoder, AcmeResolverOptions, ResolverOptions } from './resolver-options';
import { ConfigErrors, decodeAll } from '../config/decode';
import { DnsChallenger } from './acme-dns';
import { DNS_PROVIDERS, Env } from './dns/index';
import { followTlsSettings, httpsServerOptions, TlsOptions } from './server-options';
import { TlsOptionsTable } from './options-table';
import { CertificateListing, CertificateStore } from './store';

export { AcmeResolver } from './acme';
export { domainSetKey } from './acme-order';
export type { AcmeTuning, FailedOrder } from './acme';
export type { DomainSet } from './acme-order';
export { acmeResolverOptions, certificateResolverOptions, certificatesResolversDecoder, LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING } from './resolver-options';
export type { AcmeResolverOptions, ResolverOptions } from './resolver-options';
export { CertificateStore } from './store';
export type { CertificateListing } from './store';
export { ChallengeRegistry } from './challenges';
export { httpsServerOptions, followTlsSettings, secureContextSettings } from './server-options';
export type { TlsOptions } from './server-options';
export { LocalCa } from './local-ca';
export { trustCommand } from './trust';
export type { TrustOptions } from './trust';
export { portierDataDir } from './data-dir';
export { handshakeServerFor } from './options-table';
export { loadCertificate } from './certificate';

export const LOCAL_RESOLVER = 'local';

export interface RouterTls {
  name: string;
  /** Literal host names from the router's Host() rule. */
  hosts: readonly string[];
  tls: { certResolver?: string; domains?: readonly { main: string; sans?: readonly string[] }[]; options?: string };
}

export interface TlsManagerOptions {
  /** The raw `certificatesResolvers` section of the static config. */
  resolvers?: unknown;
  /** Portier's data directory (local CA, default ACME storage); default `portierDataDir()`. */
  dataDir?: string;
  logger?: Logger;
  tuning?: AcmeTuning;
  /** Where DNS providers read lego's variables (RFC2136_NAMESERVER, …); default process.env. */
  env?: Env;
}

const isLocalName = (h: string): boolean => h === 'localhost' || h.endsWith('.localhost');

export class TlsManager {
  readonly store = new CertificateStore();
  readonly challenges = new ChallengeRegistry();
  private readonly acme = new Map<string, AcmeResolver>();
  /** Resolvers that cannot work (an unknown DNS provider, a missing variable): the error each router using one shows. */
  private readonly broken = new Map<string, string>();
  /** Which challenges each ACME resolver answers, for router checks and the API. */
  private readonly challengeTypes = new Map<string, string[]>();
  private readonly optionsTable: TlsOptionsTable;
  private readonly local: { name: string; ca: LocalCa }[] = [];
  private localHosts = new Set<string>();
  private options: Record<string, TlsOptions> = {};
  /** Re-apply the current options to each attached HTTPS listener. */
  private readonly listeners = new Set<() => void>();
  private readonly logger: Logger;
  private readonly httpEntryPoints = new Set<string>();
  /** Shared ACME storages by address (acme-cluster). */
  private readonly shared = new Map<string, SharedStore>();

  /** Throws a configuration error (naming the field or the file) for bad resolver options or unusable storage. */
  constructor(opts: TlsManagerOptions = {}) {
    this.logger = (opts.logger ?? silentLogger).child({ component: 'tls' });
    const logger = this.logger;
    this.optionsTable = new TlsOptionsTable(this.store, this.challenges, this.logger);
    const dataDir = opts.dataDir ?? portierDataDir();
    const resolvers: Record<string, ResolverOptions> = opts.resolvers ? this.decodeResolvers(opts.resolvers) : {};
    if (!resolvers[LOCAL_RESOLVER]) resolvers[LOCAL_RESOLVER] = { kind: 'local', local: { certificatesDuration: 168 } };
    const storages = new Map<string, string>();
    for (const [name, r] of Object.entries(resolvers)) {
      if (r.kind === 'local') {
        this.local.push({ name, ca: new LocalCa({ dataDir, leafValidityMs: r.local.certificatesDuration * 3600_000 }) });
        continue;
      }
      const sharedAt = r.acme.storage ? parseSharedStorage(r.acme.storage, `certificatesResolvers.${name}.acme.storage`) : undefined;
      const shared = sharedAt && this.sharedStore(sharedAt);
      const file = shared ? shared.label : path.resolve(r.acme.storage ?? path.join(dataDir, `acme-${name}.json`));
      const other = shared ? undefined : storages.get(file);
      if (other) throw configError(`certificatesResolvers.${name}.acme.storage`, `${file} is already the storage of resolver ${other}: use one file per resolver`);
      storages.set(file, name);
      const dns = this.dnsChallenger(name, r.acme, opts.env ?? process.env);
      if (dns === null) continue;
      this.challengeTypes.set(name, [...(r.acme.httpChallenge ? ['http-01'] : []), ...(r.acme.tlsChallenge ? ['tls-alpn-01'] : []), ...(dns ? ['dns-01'] : [])]);
      // acme-client has one process-wide logger; its lines are what explains a failed order.
      acmeClient().setLogger((message) => logger.debug('acme-client', { message }));
      const resolver = new AcmeResolver(name, r.acme, { store: this.store, challenges: this.challenges, logger: this.logger, storageFile: file, tuning: opts.tuning, dns, shared });
      resolver.start();
      this.acme.set(name, resolver);
      if (r.acme.httpChallenge) this.httpEntryPoints.add(r.acme.httpChallenge.entryPoint);
    }
    this.store.addOnDemandIssuer((name) => this.issueLocal(name));
  }

  /**
   * What is wrong with a router's `tls` as far as certificates go, each
   * message starting with the router's field: a resolver that does not
   * exist or cannot work, a wildcard its resolver cannot order.
   */
  routerProblems(tls: RouterTls['tls']): string[] {
    const name = tls.certResolver;
    if (name === undefined) return [];
    const broken = this.broken.get(name);
    if (broken) return [`tls.certResolver: resolver ${JSON.stringify(name)} is in error: ${broken}`];
    if (!this.acme.has(name) && !this.local.some((l) => l.name === name)) return [`tls.certResolver: unknown certificate resolver ${JSON.stringify(name)}`];
    const types = this.challengeTypes.get(name);
    const out: string[] = [];
    (tls.domains ?? []).forEach((d, i) => {
      const wild = [d.main, ...(d.sans ?? [])].find((n) => n.startsWith('*.'));
      if (wild && types && !types.includes('dns-01')) out.push(`tls.domains[${i}]: ${wild} needs DNS-01, and resolver ${JSON.stringify(name)} has no dnsChallenge`);
    });
    return out;
  }

  /**
   * Applies a dynamic config. Returns the errors found (bad certificate
   * files, unknown resolvers), each naming its path; the rest is applied.
   * `acmeDone` settles when the orders this update started have finished.
   */
  update(tlsConfig: TlsConfig | undefined, routers: RouterTls[]): { errors: PortierError[]; acmeDone: Promise<void> } {
    const errors: PortierError[] = [];
    const statics: ServedCertificate[] = [];
    (tlsConfig?.certificates ?? []).forEach((c, i) => {
      const cert = this.readPair(c.certFile, c.keyFile, 'file', `tls.certificates[${i}]`, errors);
      if (cert) statics.push(cert);
    });
    this.store.setGroup('file', statics);
    const def = tlsConfig?.stores?.default?.defaultCertificate;
    this.store.setDefault(def ? this.readPair(def.certFile, def.keyFile, 'default', 'tls.stores.default.defaultCertificate', errors) : undefined);

    errors.push(...this.optionsTable.update(tlsConfig?.options ?? {}, routers.map((r) => ({ name: r.name, hosts: r.hosts, options: r.tls.options }))));
    const options = this.optionsTable.valid();
    const changed = JSON.stringify(options.default) !== JSON.stringify(this.options.default);
    this.options = options;
    if (changed) for (const apply of this.listeners) apply();

    const sets = new Map<string, Map<string, DomainSet>>();
    const localHosts = new Set<string>();
    for (const r of routers) {
      const resolver = r.tls.certResolver ?? (r.hosts.length > 0 && r.hosts.every(isLocalName) ? LOCAL_RESOLVER : undefined);
      if (!resolver) continue;
      const domainSets: DomainSet[] = r.tls.domains?.length
        ? r.tls.domains.map((d) => ({ main: d.main, sans: [...(d.sans ?? [])] }))
        : r.hosts.length
          ? [{ main: r.hosts[0], sans: r.hosts.slice(1) }]
          : [];
      if (this.acme.has(resolver)) {
        const bucket = sets.get(resolver) ?? new Map<string, DomainSet>();
        for (const s of domainSets) bucket.set(domainSetKey(s), s);
        sets.set(resolver, bucket);
      } else if (this.local.some((l) => l.name === resolver)) {
        for (const s of domainSets) for (const h of [s.main, ...s.sans]) localHosts.add(h.toLowerCase());
      } else if (!this.broken.has(resolver)) {
        errors.push(configError(`http.routers.${r.name}.tls.certResolver`, `unknown certificate resolver ${JSON.stringify(resolver)}`, 'REF_UNKNOWN'));
      }
    }
    this.localHosts = localHosts;
    for (const e of errors) this.logger.error('TLS configuration error', { error: e.message });
    const acmeDone = Promise.all([...this.acme].map(([name, res]) => res.ensure([...(sets.get(name)?.values() ?? [])]))).then(() => undefined);
    return { errors, acmeDone };
  }

  /** Options for `https.createServer` on a TLS entrypoint (tls.options.default, read per handshake for sniStrict). */
  httpsServerOptions(): https.ServerOptions {
    const base = this.options.default ?? {};
    return httpsServerOptions(this.store, this.challenges, { ...base, sniStrict: () => this.options.default?.sniStrict === true });
  }

  /** Call once per HTTPS listener: keeps its TLS settings and its certificate for clients without SNI current. */
  attach(server: tls.Server): void {
    const apply = followTlsSettings(server, this.store, () => this.options.default ?? {});
    this.optionsTable.attach(server);
    this.listeners.add(apply);
    server.once('close', () => this.listeners.delete(apply));
  }

  /** Entrypoints on which `challengeResponder` must run before any router. */
  httpChallengeEntryPoints(): string[] {
    return [...this.httpEntryPoints];
  }

  /** Answers ACME HTTP-01 validation requests; false when the request is not one. */
  challengeResponder = (req: http.IncomingMessage, res: http.ServerResponse): boolean =>
    this.httpEntryPoints.size > 0 && this.challenges.respond(req, res);

  /** Every certificate served, ACME ones with how they were issued and their last failed renewal (`/api/tls/certificates`). */
  certificates(): CertificateListing[] {
    const acme = [...this.acme.values()];
    const others = this.store.certificates().filter((c) => !this.acme.has(c.resolver));
    return [...others, ...acme.flatMap((r) => r.listings()), ...(this.local[0]?.ca.listing() ?? [])];
  }

  /** ACME domain sets with no certificate whose last order failed, with the error and the next try (`/api/tls/orders`). */
  failedOrders(): FailedOrder[] {
    return [...this.acme.values()].flatMap((r) => r.failedOrders());
  }

  /** The local CA's root, for `portier trust` and the docs. */
  localCa(): LocalCa | undefined {
    return this.local[0]?.ca;
  }

  /** Stops the ACME resolvers: orders in flight are abandoned, see AcmeResolver.close(). */
  async close(): Promise<void> {
    await Promise.all([...this.acme.values()].map((r) => r.close()));
    await Promise.all([...this.shared.values()].map((s) => s.close()));
  }

  /** The instances sharing each shared ACME storage and the locks they hold (`/api/tls/cluster`). */
  cluster(): ClusterView[] {
    return [...this.shared.values()].map((s) => s.snapshot());
  }

  private sharedStore(address: SharedStoreAddress): SharedStore {
    // One connection per store and user: two resolvers naming it share it.
    const key = `${storageLabel(address)} ${address.username ?? ''}`;
    let s = this.shared.get(key);
    if (!s) {
      const store = new SharedStore(address);
      s = store;
      this.shared.set(key, store);
      this.challenges.addRemote(store);
      store.connect().catch((err) => {
        store.noteError(err);
        this.logger.warn('ACME: cannot reach the shared storage yet', { storage: store.label, error: errorMessage(err) });
      });
    }
    return s;
  }

  /** ACME orders in flight or queued, for a stop that has to say what it is still waiting for. */
  pending(): string[] {
    return [...this.acme.values()].flatMap((r) => r.pending().map((set) => `ACME order ${r.name}: ${set}`));
  }

  /** Resolver options, with Traefik v2 keys' deprecation warnings logged; throws every error at once. */
  private decodeResolvers(raw: unknown): Record<string, ResolverOptions> {
    const d = decodeAll(certificatesResolversDecoder, raw, 'certificatesResolvers');
    for (const w of d.warnings) this.logger.warn('configuration warning', { error: w.message });
    if (d.errors.length) throw d.errors.length === 1 ? d.errors[0] : new ConfigErrors(d.errors);
    return d.value!;
  }

  /**
   * The resolver's DNS-01 side: undefined without dnsChallenge, null when its
   * provider is unknown or misconfigured (the resolver is then in error and
   * only the routers using it show that; the rest of the gateway starts).
   */
  private dnsChallenger(name: string, o: AcmeResolverOptions, env: Env): DnsChallenger | null | undefined {
    if (!o.dnsChallenge) return undefined;
    const at = `certificatesResolvers.${name}.acme.dnsChallenge.provider`;
    const factory = DNS_PROVIDERS.get(o.dnsChallenge.provider);
    let problem: string;
    if (factory) {
      try {
        return new DnsChallenger(factory(env), o.dnsChallenge);
      } catch (err) {
        problem = `${at}: ${o.dnsChallenge.provider}: ${errorMessage(err)}`;
      }
    } else {
      problem = `${at}: unknown DNS provider ${JSON.stringify(o.dnsChallenge.provider)} (Portier has ${[...DNS_PROVIDERS.keys()].join(', ')})`;
    }
    this.broken.set(name, problem);
    this.logger.error('certificate resolver in error: routers using it get no certificate', { resolver: name, error: problem });
    return null;
  }

  private issueLocal(name: string): ServedCertificate | undefined {
    if (!this.localHosts.has(name) || this.local.length === 0) return undefined;
    try {
      return this.local[0].ca.issue(name);
    } catch (err) {
      this.logger.error('local CA cannot issue', { host: name, error: errorMessage(err) });
      return undefined;
    }
  }

  private readPair(certFile: string, keyFile: string, resolver: string, at: string, errors: PortierError[]): ServedCertificate | undefined {
    try {
      return loadCertificate(fs.readFileSync(certFile, 'utf8'), fs.readFileSync(keyFile, 'utf8'), resolver, at);
    } catch (err) {
      errors.push(err instanceof PortierError ? err : configError(at, `cannot read the certificate or key file: ${errorMessage(err)}`));
      return undefined;
    }
  }
}
