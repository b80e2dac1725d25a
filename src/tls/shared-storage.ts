/**
 * ACME storage shared by several Portier instances through Redis or etcd
 * (`acme.storage: redis://host:port/prefix` or `etcd://host:port/prefix`,
 * docs/acme-cluster.md). Each value is its own key, so two instances never
 * overwrite each other's certificates:
 *
 *   <prefix>/<resolver>/account            the account, set once (create-if-absent: the first instance's key wins)
 *   <prefix>/<resolver>/certs/<set>        one certificate per domain set
 *   <prefix>/<resolver>/locks/<set>        the issuance lock (created with a lease, renewed, released by its holder only)
 *   <prefix>/challenges/http/<token>       HTTP-01 key authorizations, answered by every instance
 *   <prefix>/challenges/tls-alpn/<domain>  TLS-ALPN-01 certificates and keys, answered by every instance
 *   <prefix>/instances/<id>                each instance's registration (expiring), for /api/tls/cluster
 *   <prefix>/events                        a certificate was written: Redis pub/sub channel, etcd key watched
 *
 * The cluster logic lives here once; shared-redis.ts and shared-etcd.ts
 * only map its few primitives onto each store. Neither needs a server
 * setting (managed Redis disables keyspace notifications); the resolver's
 * periodic check re-reads the certificates as well.
 */
import os from 'node:os';
import crypto from 'node:crypto';
import { configError, errorMessage } from '../errors';
import type { StoredCertificate } from './acme-storage';
import type { ChallengeKind, ChallengeRemote } from './challenges';
import { EtcdShared } from './shared-etcd';
import { RedisShared } from './shared-redis';

export interface SharedStoreAddress {
  store: 'redis' | 'etcd';
  /** `rediss://`, `etcds://`: TLS, verified against the system's CAs (and NODE_EXTRA_CA_CERTS). */
  tls: boolean;
  host: string;
  port: number;
  prefix: string;
  username?: string;
  password?: string;
  /** `?lease=10s`: how long a dead instance's lock and registration outlive it. */
  leaseMs: number;
}

/** How long a published challenge outlives an order that could not remove it. */
const CHALLENGE_TTL_MS = 600_000;
const CHALLENGE_ID: Record<ChallengeKind, RegExp> = { http: /^[\w-]+$/, 'tls-alpn': /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/ };

/** Lease of an issuance lock and of an instance's registration unless configured (tests shorten it). */
export const DEFAULT_LEASE_MS = 30_000;

const SCHEMES: Record<string, Pick<SharedStoreAddress, 'store' | 'tls'>> = {
  redis: { store: 'redis', tls: false },
  rediss: { store: 'redis', tls: true },
  etcd: { store: 'etcd', tls: false },
  etcds: { store: 'etcd', tls: true },
};
const FORM = 'redis://host:port/prefix (rediss:// for TLS, etcd:// or etcds:// for etcd), with optional user:password@ and ?lease=30s';

/** `redis://[user:password@]host:port/prefix[?lease=30s]` (or rediss, etcd, etcds) → its parts; undefined for a file path; a configuration error at `path` otherwise. */
export function parseSharedStorage(value: string, path: string): SharedStoreAddress | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (!scheme) return undefined;
  const kind = SCHEMES[scheme];
  if (!kind) throw configError(path, `unsupported shared storage ${JSON.stringify(`${scheme}://`)}: use ${FORM}, or a file path`);
  const m = /^[a-z]+:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?(\[[^\]]+\]|[^/:@]+):(\d{1,5})\/([^\s?*]+?)\/*(?:\?lease=(\d+(?:\.\d+)?)(ms|s|m))?$/i.exec(value);
  const port = Number(m?.[4]);
  // The address may hold a password: the error shows its form, not the value.
  if (!m || port < 1 || port > 65535) throw configError(path, `expected ${FORM}, got ${JSON.stringify(value.replace(/:[^:@/]*@/, ':***@'))}`);
  const leaseMs = m[6] ? Number(m[6]) * { ms: 1, s: 1000, m: 60_000 }[m[7].toLowerCase() as 'ms' | 's' | 'm'] : DEFAULT_LEASE_MS;
  if (leaseMs < 1000) throw configError(path, `lease must be at least 1s, got ${m[6]}${m[7]}`);
  const decode = (s: string | undefined): string | undefined => (s ? decodeURIComponent(s) : undefined);
  return { ...kind, host: m[3].replace(/^\[(.*)\]$/, '$1'), port, prefix: m[5], leaseMs, ...strip({ username: decode(m[1]), password: decode(m[2]) }) };
}

function strip<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The address without credentials or lease, as the API and the log show it. */
export function storageLabel(a: SharedStoreAddress): string {
  const scheme = `${a.store}${a.tls ? 's' : ''}`;
  return `${scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/${a.prefix}`;
}

/** What a store offers the cluster logic; each write or read may reject when the store does not answer. */
export interface SharedBackend {
  connect(): Promise<void>;
  /** Why writes cannot succeed now (`connecting`, …), undefined when they may. */
  unavailable(): string | undefined;
  get(key: string): Promise<string | undefined>;
  /** Keys matching a pattern whose only wildcard is `*`, with their values, sorted by key. */
  list(pattern: string): Promise<[string, string][]>;
  /** Writes; with `ttlMs`, the key disappears after that time. */
  put(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Writes unless the key exists. */
  create(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Creates `key` with `value` expiring after `ttlMs` unless it exists, and
   * keeps it alive until release(), which deletes it only while it is still
   * this holder's; undefined when the key exists.
   */
  acquire(key: string, value: string, ttlMs: number): Promise<{ release(): Promise<void> } | undefined>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, fn: (message: string) => void): Promise<void>;
  close(): void;
}

export interface InstanceInfo {
  id: string;
  hostname: string;
  pid: number;
  started: string;
  lastError?: string;
  /** Domain sets whose issuance lock this instance holds, `<resolver>:<set>`. */
  locks: string[];
}

export interface ClusterView {
  storage: string;
  /** When the store was last read for this view (it is refreshed with each registration, lease/3). */
  readAt?: string;
  error?: string;
  instances: InstanceInfo[];
  locks: { resolver: string; domains: string[]; holder: string }[];
}

type Account = { key: string; url?: string; email?: string; caServer?: string };

/** One connection per store address, shared by the resolvers that name it. */
export class SharedStore implements ChallengeRemote {
  readonly id = `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  readonly label: string;
  readonly leaseMs: number;
  private readonly kv: SharedBackend;
  private subscribed = false;
  private readonly started = new Date().toISOString();
  private readonly held = new Set<string>();
  private lastError: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly listeners: ((resolver: string) => void)[] = [];
  private lastView: ClusterView;
  private registering: Promise<void> = Promise.resolve();

  constructor(readonly address: SharedStoreAddress) {
    this.leaseMs = address.leaseMs;
    this.label = storageLabel(address);
    this.lastView = { storage: this.label, instances: [], locks: [], error: 'not read yet' };
    const onError = (err: unknown): void => this.noteError(err);
    this.kv = address.store === 'etcd' ? new EtcdShared(address, onError) : new RedisShared(address, onError);
    this.timer = setInterval(() => void this.register(), Math.max(this.leaseMs / 3, 200));
    this.timer.unref();
  }

  private key(...parts: string[]): string {
    return [this.address.prefix, ...parts].join('/');
  }

  noteError(err: unknown): void {
    this.lastError = `${new Date().toISOString()} ${errorMessage(err)}`;
  }

  async connect(): Promise<void> {
    await this.kv.connect();
    await this.register();
    if (this.subscribed) return;
    this.subscribed = true;
    await this.kv.subscribe(this.key('events'), (resolver) => this.listeners.forEach((l) => l(resolver)));
  }

  /** Calls `fn` with the resolver name whenever an instance writes one of its certificates. */
  onCertificate(fn: (resolver: string) => void): void {
    this.listeners.push(fn);
  }

  async account(resolver: string): Promise<Account | undefined> {
    const v = await this.kv.get(this.key(resolver, 'account'));
    return v ? JSON.parse(v) : undefined;
  }

  /** Stores the account unless another instance did first; returns the one that is stored. */
  async claimAccount(resolver: string, account: { key: string; email?: string; caServer: string }): Promise<Account> {
    await this.kv.create(this.key(resolver, 'account'), JSON.stringify(account));
    return (await this.account(resolver))!;
  }

  async saveAccount(resolver: string, account: Account): Promise<void> {
    await this.kv.put(this.key(resolver, 'account'), JSON.stringify(account));
  }

  async certificates(resolver: string): Promise<StoredCertificate[]> {
    return (await this.kv.list(this.key(resolver, 'certs', '*'))).map(([, v]) => JSON.parse(v) as StoredCertificate);
  }

  async putCertificate(resolver: string, set: string, c: StoredCertificate): Promise<void> {
    await this.kv.put(this.key(resolver, 'certs', set), JSON.stringify(c));
    await this.kv.publish(this.key('events'), resolver);
  }

  /**
   * Takes the issuance lock of a domain set, or returns undefined when
   * another instance holds it. The lease is renewed until release(); a
   * holder that dies stops renewing and the lock expires.
   */
  async lock(resolver: string, set: string): Promise<{ release(): Promise<void> } | undefined> {
    const value = `${this.id}:${crypto.randomBytes(6).toString('hex')}`;
    const lease = await this.kv.acquire(this.key(resolver, 'locks', set), value, this.leaseMs);
    if (!lease) return undefined;
    const name = `${resolver}:${set}`;
    this.held.add(name);
    await this.register();
    return {
      release: async () => {
        this.held.delete(name);
        await lease.release().catch((err) => this.noteError(err));
        await this.register();
      },
    };
  }

  /** Publishes a pending challenge for every instance; it expires in case its removal is lost (the CA validates within minutes). */
  async putChallenge(kind: ChallengeKind, id: string, value: string): Promise<void> {
    await this.kv.put(this.key('challenges', kind, id), value, CHALLENGE_TTL_MS);
  }

  /** Removes a published challenge; when the store does not answer, the error is noted and the expiry removes it. */
  async deleteChallenge(kind: ChallengeKind, id: string): Promise<void> {
    await this.kv.delete(this.key('challenges', kind, id)).catch((err) => this.noteError(err));
  }

  /** A challenge another instance published; undefined when unknown or the store does not answer. */
  async challenge(kind: ChallengeKind, id: string): Promise<string | undefined> {
    // The id comes from the network (a URL path, an SNI name): nothing that could reach another key.
    if (!CHALLENGE_ID[kind].test(id)) return undefined;
    try {
      return await this.kv.get(this.key('challenges', kind, id));
    } catch (err) {
      this.noteError(err);
      return undefined;
    }
  }

  /** The last view read from the store (the API answers synchronously). */
  snapshot(): ClusterView {
    return this.lastView;
  }

  private async view(): Promise<ClusterView> {
    const instances = (await this.kv.list(this.key('instances', '*'))).map(([, v]) => JSON.parse(v) as InstanceInfo);
    const locks = (await this.kv.list(this.key('*', 'locks', '*'))).map(([k, v]) => {
      const [resolver, , set] = k.slice(this.address.prefix.length + 1).split('/');
      return { resolver, domains: set.split(','), holder: v.replace(/:[0-9a-f]+$/, '') };
    });
    instances.sort((a, b) => a.started.localeCompare(b.started) || a.id.localeCompare(b.id));
    return { storage: this.label, readAt: new Date().toISOString(), instances, locks };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.kv.delete(this.key('instances', this.id)).catch(() => undefined);
    this.kv.close();
  }

  /** One registration at a time, each writing the state of its own moment: a late write never undoes a newer one. */
  private register(): Promise<void> {
    this.registering = this.registering.then(() => this.registerNow());
    return this.registering;
  }

  private async registerNow(): Promise<void> {
    const down = this.kv.unavailable();
    if (down) {
      this.lastView = { ...this.lastView, error: `store ${down}` };
      return;
    }
    const info: InstanceInfo = { id: this.id, hostname: os.hostname(), pid: process.pid, started: this.started, locks: [...this.held].sort(), ...(this.lastError ? { lastError: this.lastError } : {}) };
    try {
      await this.kv.put(this.key('instances', this.id), JSON.stringify(info), this.leaseMs);
      this.lastView = await this.view();
    } catch (err) {
      this.noteError(err);
      this.lastView = { ...this.lastView, error: errorMessage(err) };
    }
  }
}
