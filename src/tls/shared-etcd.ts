/**
 * The shared ACME storage's primitives on etcd (shared-storage.ts), through
 * the one etcd client (src/kv/etcd-client.ts). Expiry is an etcd lease: a
 * lock is created in a transaction (only if the key does not exist) attached
 * to a lease of its own, kept alive while held and revoked on release, which
 * deletes the key; a holder that dies stops the keep-alives and etcd deletes
 * the key when the lease runs out. Events are a key the others watch.
 */
import { Backoff } from '../dynamic/kv-mirror';
import { EtcdClient, type EtcdWatch } from '../kv/etcd-client';
import type { SharedBackend, SharedStoreAddress } from './shared-storage';

/** etcd counts leases in whole seconds. */
const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

export class EtcdShared implements SharedBackend {
  private readonly client: EtcdClient;
  private readonly backoff = new Backoff();
  private watch?: EtcdWatch;
  private retry?: NodeJS.Timeout;
  private closed = false;
  private readonly alivePrefix: string;

  constructor(
    address: SharedStoreAddress,
    private readonly onError: (err: unknown) => void,
  ) {
    this.alivePrefix = `${address.prefix}/`;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    this.client = new EtcdClient({
      endpoints: [`${address.tls ? 'https' : 'http'}://${host}:${address.port}`],
      username: address.username,
      password: address.password,
    });
  }

  async connect(): Promise<void> {
    await this.client.alive(this.alivePrefix);
  }

  /** Each call opens its own request: there is no connection whose state could say so in advance. */
  unavailable(): undefined {
    return undefined;
  }

  get(key: string): Promise<string | undefined> {
    return this.client.get(key);
  }

  /**
   * `a/b/*` is one range read; a pattern with an inner `*` (the locks of
   * every resolver) lists keys only and reads the few that match, rather
   * than every certificate below the prefix.
   */
  async list(pattern: string): Promise<[string, string][]> {
    const star = pattern.indexOf('*');
    const literal = star < 0 ? pattern : pattern.slice(0, star);
    const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const trailing = star === pattern.length - 1;
    const { pairs } = await this.client.range(literal, !trailing);
    const matched = pairs.filter(([k]) => re.test(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (trailing) return matched;
    const values = await Promise.all(matched.map(([k]) => this.client.get(k)));
    // A key that expired between the listing and the read is left out.
    return matched.flatMap(([k], i): [string, string][] => (values[i] === undefined ? [] : [[k, values[i]!]]));
  }

  /** An expiring write takes a fresh lease; the key's previous one runs out with nothing attached. */
  async put(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.client.put(key, value, ttlMs ? await this.client.grant(seconds(ttlMs)) : undefined);
  }

  async create(key: string, value: string): Promise<void> {
    await this.client.create(key, value);
  }

  delete(key: string): Promise<void> {
    return this.client.delete(key);
  }

  async acquire(key: string, value: string, ttlMs: number): Promise<{ release(): Promise<void> } | undefined> {
    const lease = await this.client.grant(seconds(ttlMs));
    let created = false;
    try {
      created = await this.client.create(key, value, lease);
    } finally {
      if (!created) await this.client.revoke(lease).catch(this.onError);
    }
    if (!created) return undefined;
    const renew = setInterval(() => {
      this.client.keepAlive(lease).then(
        (alive) => alive || (clearInterval(renew), this.onError(new Error(`the lock ${key} expired before it was renewed`))),
        this.onError,
      );
    }, Math.max(ttlMs / 3, 100));
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        await this.client.revoke(lease);
      },
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.put(channel, message);
  }

  /**
   * Watches the channel's key from now on, opened again with backoff when
   * the watch ends; a change missed meanwhile is read by the resolver's
   * periodic check.
   */
  subscribe(channel: string, fn: (message: string) => void): Promise<void> {
    const open = async (): Promise<void> => {
      const watch = await this.client.watch(channel, 0, (events) => events.forEach((e) => e.type === 'PUT' && fn(e.value)));
      this.watch = watch;
      this.backoff.reset();
      watch.ended.catch(again);
    };
    const again = (err: unknown): void => {
      if (this.closed) return;
      this.onError(err);
      this.retry = setTimeout(() => void open().catch(again), this.backoff.next());
      this.retry.unref();
    };
    return open().catch((err) => {
      again(err);
      throw err;
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.watch?.close();
    this.client.close();
  }
}
