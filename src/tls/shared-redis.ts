/**
 * The shared ACME storage's primitives on Redis (shared-storage.ts): SET NX
 * PX for locks, a Lua compare-and-expire / compare-and-delete so that an
 * instance never renews or removes a lock it lost, pub/sub for events (no
 * keyspace-notification setting needed).
 */
import type { Redis } from 'ioredis';
import { ioredis } from '../libraries';
import type { SharedBackend, SharedStoreAddress } from './shared-storage';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class RedisShared implements SharedBackend {
  private readonly client: Redis;
  private sub: Redis | undefined;

  constructor(
    address: SharedStoreAddress,
    private readonly onError: (err: unknown) => void,
  ) {
    this.client = new (ioredis().Redis)({
      host: address.host,
      port: address.port,
      username: address.username,
      password: address.password,
      ...(address.tls ? { tls: {} } : {}),
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 3000,
      commandTimeout: 5000,
    });
    this.client.on('error', onError);
  }

  async connect(): Promise<void> {
    if (this.client.status === 'wait') await this.client.connect();
  }

  unavailable(): string | undefined {
    return this.client.status === 'ready' ? undefined : this.client.status;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(key)) ?? undefined;
  }

  async list(pattern: string): Promise<[string, string][]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (!keys.length) return [];
    keys.sort();
    const values = await this.client.mget(keys);
    // A key that expired between the scan and the read is left out.
    return keys.flatMap((k, i): [string, string][] => (values[i] == null ? [] : [[k, values[i]!]]));
  }

  async put(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs) await this.client.set(key, value, 'PX', ttlMs);
    else await this.client.set(key, value);
  }

  async create(key: string, value: string): Promise<void> {
    await this.client.set(key, value, 'NX');
  }

  async delete(key: string): Promise<void> {
    await this.client.del(key);
  }

  async acquire(key: string, value: string, ttlMs: number): Promise<{ release(): Promise<void> } | undefined> {
    if ((await this.client.set(key, value, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
    const renew = setInterval(() => {
      this.client.eval(RENEW, 1, key, value, String(ttlMs)).catch(this.onError);
    }, Math.max(ttlMs / 3, 100));
    renew.unref();
    return {
      release: async () => {
        clearInterval(renew);
        await this.client.eval(RELEASE, 1, key, value);
      },
    };
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(channel, message);
  }

  async subscribe(channel: string, fn: (message: string) => void): Promise<void> {
    this.sub = this.client.duplicate();
    this.sub.on('error', this.onError);
    this.sub.on('message', (_channel, message: string) => fn(message));
    await this.sub.subscribe(channel);
  }

  close(): void {
    this.sub?.disconnect();
    this.client.disconnect();
  }
}
