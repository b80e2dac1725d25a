/**
 * ACME storage shared by several Portier instances through Redis
 * (`acme.storage: redis://host:port/prefix`, docs/acme-cluster.md). Each
 * value is its own key, so two instances never overwrite each other's
 * certificates:
 *
 *   <prefix>/<resolver>/account            the account, set once (SET NX: the first instance's key wins)
 *   <prefix>/<resolver>/certs/<set>        one certificate per domain set
 *   <prefix>/<resolver>/locks/<set>        the issuance lock (SET NX PX, renewed, released by value)
 *   <prefix>/challenges/http/<token>       HTTP-01 key authorizations, answered by every instance
 *   <prefix>/instances/<id>                each instance's registration (PX), for /api/tls/cluster
 *   <prefix>/events                        pub/sub channel: a certificate was written
 *
 * Pub/sub needs no keyspace-notification setting (managed Redis disables
 * it); the resolver's periodic check re-reads the certificates as well.
 */
import os from 'node:os';
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { configError, errorMessage } from '../errors';
import type { StoredCertificate } from './acme-storage';

export interface SharedStoreAddress {
  host: string;
  port: number;
  prefix: string;
  /** `?lease=10s`: how long a dead instance's lock and registration outlive it. */
  leaseMs: number;
}

/** Lease of an issuance lock and of an instance's registration unless configured (tests shorten it). */
export const DEFAULT_LEASE_MS = 30_000;

/** `redis://host:port/prefix[?lease=30s]` → its parts; undefined for a file path; a configuration error at `path` otherwise. */
export function parseSharedStorage(value: string, path: string): SharedStoreAddress | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (!scheme) return undefined;
  if (scheme !== 'redis') throw configError(path, `unsupported shared storage ${JSON.stringify(`${scheme}://`)}: use redis://host:port/prefix or a file path`);
  const m = /^redis:\/\/(\[[^\]]+\]|[^/:]+):(\d{1,5})\/([^\s?*]+?)\/*(?:\?lease=(\d+(?:\.\d+)?)(ms|s|m))?$/i.exec(value);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw configError(path, `expected redis://host:port/prefix or redis://host:port/prefix?lease=30s, got ${JSON.stringify(value)}`);
  const leaseMs = m[4] ? Number(m[4]) * { ms: 1, s: 1000, m: 60_000 }[m[5].toLowerCase() as 'ms' | 's' | 'm'] : DEFAULT_LEASE_MS;
  if (leaseMs < 1000) throw configError(path, `lease must be at least 1s, got ${m[4]}${m[5]}`);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port, prefix: m[3], leaseMs };
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

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** One connection per store address, shared by the resolvers that name it. */
export class SharedStore {
  readonly id = `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  private readonly client: Redis;
  private sub: Redis | undefined;
  private readonly started = new Date().toISOString();
  private readonly held = new Set<string>();
  private lastError: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly listeners: ((resolver: string) => void)[] = [];
  readonly leaseMs: number;
  private lastView: ClusterView;
  private registering: Promise<void> = Promise.resolve();

  constructor(
    readonly address: SharedStoreAddress,
  ) {
    this.leaseMs = address.leaseMs;
    this.lastView = { storage: this.label, instances: [], locks: [], error: 'not read yet' };
    this.client = new Redis({ host: address.host, port: address.port, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, commandTimeout: 5000 });
    this.client.on('error', (err) => this.noteError(err));
    this.timer = setInterval(() => void this.register(), Math.max(this.leaseMs / 3, 200));
    this.timer.unref();
  }

  get label(): string {
    return `redis://${this.address.host}:${this.address.port}/${this.address.prefix}`;
  }

  private key(...parts: string[]): string {
    return [this.address.prefix, ...parts].join('/');
  }

  noteError(err: unknown): void {
    this.lastError = `${new Date().toISOString()} ${errorMessage(err)}`;
  }

  async connect(): Promise<void> {
    if (this.client.status === 'wait') await this.client.connect();
    await this.register();
    if (this.sub) return;
    this.sub = this.client.duplicate();
    this.sub.on('error', (err) => this.noteError(err));
    this.sub.on('message', (_channel, resolver: string) => this.listeners.forEach((l) => l(resolver)));
    await this.sub.subscribe(this.key('events'));
  }

  /** Calls `fn` with the resolver name whenever an instance writes one of its certificates. */
  onCertificate(fn: (resolver: string) => void): void {
    this.listeners.push(fn);
  }

  async account(resolver: string): Promise<{ key: string; url?: string; email?: string; caServer?: string } | undefined> {
    const v = await this.client.get(this.key(resolver, 'account'));
    return v ? JSON.parse(v) : undefined;
  }

  /** Stores the account unless another instance did first; returns the one that is stored. */
  async claimAccount(resolver: string, account: { key: string; email?: string; caServer: string }): Promise<{ key: string; url?: string; email?: string; caServer?: string }> {
    await this.client.set(this.key(resolver, 'account'), JSON.stringify(account), 'NX');
    return (await this.account(resolver))!;
  }

  async saveAccount(resolver: string, account: { key: string; url?: string; email?: string; caServer?: string }): Promise<void> {
    await this.client.set(this.key(resolver, 'account'), JSON.stringify(account));
  }

  async certificates(resolver: string): Promise<StoredCertificate[]> {
    const keys = await this.scan(this.key(resolver, 'certs', '*'));
    if (!keys.length) return [];
    const values = await this.client.mget(keys);
    return values.flatMap((v) => (v ? [JSON.parse(v) as StoredCertificate] : []));
  }

  async putCertificate(resolver: string, set: string, c: StoredCertificate): Promise<void> {
    await this.client.set(this.key(resolver, 'certs', set), JSON.stringify(c));
    await this.client.publish(this.key('events'), resolver);
  }

  /**
   * Takes the issuance lock of a domain set, or returns undefined when
   * another instance holds it. The lease is renewed until release(); a
   * holder that dies stops renewing and the lock expires.
   */
  async lock(resolver: string, set: string): Promise<{ release(): Promise<void> } | undefined> {
    const key = this.key(resolver, 'locks', set);
    const value = `${this.id}:${crypto.randomBytes(6).toString('hex')}`;
    if ((await this.client.set(key, value, 'PX', this.leaseMs, 'NX')) !== 'OK') return undefined;
    const name = `${resolver}:${set}`;
    this.held.add(name);
    await this.register();
    const renew = setInterval(() => {
      this.client.eval(RENEW, 1, key, value, String(this.leaseMs)).catch((err) => this.noteError(err));
    }, Math.max(this.leaseMs / 3, 100));
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        this.held.delete(name);
        await this.client.eval(RELEASE, 1, key, value).catch((err) => this.noteError(err));
        await this.register();
      },
    };
  }

  async putToken(token: string, keyAuthorization: string): Promise<void> {
    // Kept a while past the order in case its removal is lost; the CA validates within minutes.
    await this.client.set(this.key('challenges', 'http', token), keyAuthorization, 'PX', 600_000);
  }

  async deleteToken(token: string): Promise<void> {
    await this.client.del(this.key('challenges', 'http', token));
  }

  /** A token another instance published; undefined when unknown or the store does not answer. */
  async token(token: string): Promise<string | undefined> {
    if (!/^[\w-]+$/.test(token)) return undefined;
    try {
      return (await this.client.get(this.key('challenges', 'http', token))) ?? undefined;
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
    const instanceKeys = await this.scan(this.key('instances', '*'));
    const instances = (instanceKeys.length ? await this.client.mget(instanceKeys) : []).flatMap((v) => (v ? [JSON.parse(v) as InstanceInfo] : []));
    const lockKeys = await this.scan(this.key('*', 'locks', '*'));
    const holders = lockKeys.length ? await this.client.mget(lockKeys) : [];
    const locks = lockKeys.flatMap((k, i) => {
      const [resolver, , set] = k.slice(this.address.prefix.length + 1).split('/');
      const holder = holders[i]?.replace(/:[0-9a-f]+$/, '');
      return holder ? [{ resolver, domains: set.split(','), holder }] : [];
    });
    instances.sort((a, b) => a.started.localeCompare(b.started) || a.id.localeCompare(b.id));
    return { storage: this.label, readAt: new Date().toISOString(), instances, locks };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.client.del(this.key('instances', this.id)).catch(() => undefined);
    this.sub?.disconnect();
    this.client.disconnect();
  }

  /** One registration at a time, each writing the state of its own moment: a late write never undoes a newer one. */
  private register(): Promise<void> {
    this.registering = this.registering.then(() => this.registerNow());
    return this.registering;
  }

  private async registerNow(): Promise<void> {
    if (this.client.status !== 'ready') {
      this.lastView = { ...this.lastView, error: `store ${this.client.status}` };
      return;
    }
    const info: InstanceInfo = { id: this.id, hostname: os.hostname(), pid: process.pid, started: this.started, locks: [...this.held].sort(), ...(this.lastError ? { lastError: this.lastError } : {}) };
    try {
      await this.client.set(this.key('instances', this.id), JSON.stringify(info), 'PX', this.leaseMs);
      this.lastView = await this.view();
    } catch (err) {
      this.noteError(err);
      this.lastView = { ...this.lastView, error: errorMessage(err) };
    }
  }

  private async scan(pattern: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out.sort();
  }
}
