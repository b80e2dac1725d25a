import type { Redis } from 'ioredis';
import { ioredis } from '../../src/libraries';
import type { Provider } from '../../src/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import type { RedisOptions } from '../../src/config/kv-options';
import { Backoff, KvMirror } from '../../src/dynamic/kv-mirror';
import { errorMessage } from '../../src/errors';
import { clientTlsOptions } from '../etcd/tls';
import { ioRedisOptions } from './connect';
import { globLiteral, keyspacePrefix, missingFlags } from './keyspace';

const START_WAIT_MS = 3000;
/** Keys named by notifications within this window are read with one MGET. */
const FETCH_WINDOW_MS = 10;
const BATCH = 500;

/**
 * Routes from Redis string keys below `rootKey`, in Traefik's KV layout.
 * With keyspace notifications on (`notify-keyspace-events` with `K` and `A`,
 * or `K$gx`), each change names its key and only that key is read again.
 * When they are off, or CONFIG is refused (managed Redis), the keys are
 * listed (SCAN, MGET) every `scanInterval` instead; the choice is made again
 * at every interval and reconnection and logged when it changes. A lost
 * connection keeps the last configuration serving; ioredis reconnects with
 * a doubling delay (0.2 s to 10 s, logged) and everything is listed again.
 */
export class RedisProvider implements Provider {
  readonly name = 'redis';
  private readonly client: Redis;
  private readonly sub: Redis;
  private readonly backoff = new Backoff();
  private readonly pattern: string;
  private readonly channelPrefix: string;
  private mirror?: KvMirror;
  private log?: Logger;
  private mode?: 'notifications' | 'scan';
  private subscribed = false;
  private syncing?: Promise<void>;
  private dirty = new Set<string>();
  private fetchTimer?: NodeJS.Timeout;
  private tick?: NodeJS.Timeout;
  private down = false;
  /** Called once the first listing is applied (start() waits for it). */
  private listed?: () => void;
  /** The last connection error, said with the next reconnection attempt. */
  private lastError = '';
  /** Set by every (re)connection: what changed while away is only found by listing. */
  private stale = true;
  private closed = false;

  constructor(private readonly opts: RedisOptions, baseDir: string) {
    const tls = opts.tls && clientTlsOptions(opts.tls, baseDir, 'providers.redis');
    const retry = (attempt: number): number => {
      const delay = this.backoff.next();
      this.down = true;
      this.log?.warn('redis unreachable; the last configuration keeps serving', { error: this.lastError, attempt, retryInMs: delay });
      return delay;
    };
    this.client = new (ioredis().Redis)(ioRedisOptions(opts, tls, retry));
    // Its own backoff, quiet: the command connection reports the outage.
    const subBackoff = new Backoff();
    this.sub = new (ioredis().Redis)(ioRedisOptions(opts, tls, () => subBackoff.next()));
    this.sub.on('ready', () => subBackoff.reset());
    this.pattern = `${globLiteral(opts.rootKey)}/*`;
    this.channelPrefix = keyspacePrefix(opts.db);
  }

  async start(push: (s: ProviderSnapshot) => void, log: Logger): Promise<void> {
    this.log = log;
    this.mirror = new KvMirror(this.name, this.opts.rootKey, push, log);
    // Said with the reconnection attempt that follows (retryStrategy above).
    this.client.on('error', (err: Error) => (this.lastError = err.message));
    this.sub.on('error', () => undefined);
    this.client.on('ready', () => {
      if (this.down) log.info('redis reachable again; listing the keys', { endpoint: this.opts.endpoints[0] });
      this.down = false;
      this.lastError = '';
      this.backoff.reset();
      this.stale = true;
      this.sync();
    });
    // Notifications sent while the subscriber was away are lost: list again.
    this.sub.on('ready', () => {
      this.stale = true;
      this.sync();
    });
    this.sub.on('pmessage', (_pattern: string, channel: string) => this.changed(channel.slice(this.channelPrefix.length)));
    this.tick = setInterval(() => this.sync(), this.opts.scanInterval);
    this.client.connect().catch(() => undefined);
    this.sub.connect().catch(() => undefined);
    const listed = new Promise<void>((resolve) => (this.listed = resolve));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([listed, new Promise<void>((resolve) => (timer = setTimeout(resolve, START_WAIT_MS)))]);
    clearTimeout(timer);
    if (!this.mirror.ready) log.warn('redis not reachable yet; its routes are added once it answers', { endpoints: this.opts.endpoints.join(',') });
    this.mirror.flush();
  }

  /**
   * Chooses notifications or scanning, then lists every key when scanning,
   * when the choice changed, or on a reconnection. One at a time: a request
   * while one runs is served by it.
   */
  private sync(): void {
    if (this.closed || this.syncing || this.client.status !== 'ready') return;
    let failed = false;
    this.syncing = this.syncOnce()
      .catch((err) => {
        failed = true;
        this.log?.warn('redis: listing the keys failed; the last configuration keeps serving, tried again in scanInterval', { error: errorMessage(err) });
      })
      .finally(() => {
        this.syncing = undefined;
        // A reconnection during the listing: list again at once (a failure waits for the next interval).
        if (this.stale && !failed) this.sync();
        else if (this.dirty.size) this.scheduleFetch();
      });
  }

  private async syncOnce(): Promise<void> {
    const before = this.mode;
    const wasSubscribed = this.subscribed;
    const reason = await this.notificationsUnavailable();
    if (reason === undefined && !this.subscribed) {
      await this.sub.psubscribe(`${this.channelPrefix}${this.pattern}`);
      this.subscribed = true;
    } else if (reason !== undefined && this.subscribed) {
      await this.sub.punsubscribe();
      this.subscribed = false;
    }
    this.mode = reason === undefined ? 'notifications' : 'scan';
    if (this.mode !== before) {
      if (this.mode === 'notifications') this.log?.info('redis: following keyspace notifications');
      else this.log?.info(`redis: keyspace notifications unavailable (${reason}); listing the keys every ${this.opts.scanInterval} ms instead`);
    }
    // With notifications followed since the last listing, nothing was missed.
    if (this.mode === 'notifications' && wasSubscribed && !this.stale) return;
    this.stale = false;
    try {
      this.mirror?.replaceAll(await this.scan());
      this.listed?.();
    } catch (err) {
      this.stale = true;
      throw err;
    }
  }

  /** Why notifications cannot be relied on, or undefined when they can. */
  private async notificationsUnavailable(): Promise<string | undefined> {
    let flags: string;
    try {
      const answer = (await this.client.config('GET', 'notify-keyspace-events')) as string[];
      flags = answer[1] ?? '';
    } catch (err) {
      return `CONFIG GET refused: ${errorMessage(err)}`;
    }
    const missing = missingFlags(flags);
    return missing.length ? `notify-keyspace-events is ${JSON.stringify(flags)}, without ${missing.join('')}` : undefined;
  }

  private async scan(): Promise<[string, string][]> {
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.client.scan(cursor, 'MATCH', this.pattern, 'COUNT', 1000);
      for (const k of batch) keys.add(k);
      cursor = next;
    } while (cursor !== '0');
    return this.read([...keys]);
  }

  /** String values of `keys`; a key gone, or not a string, is left out. */
  private async read(keys: string[]): Promise<[string, string][]> {
    const out: [string, string][] = [];
    for (let i = 0; i < keys.length; i += BATCH) {
      const part = keys.slice(i, i + BATCH);
      const values = await this.client.mget(...part);
      part.forEach((k, n) => {
        const v = values[n];
        if (v !== null && v !== undefined) out.push([k, v]);
      });
    }
    return out;
  }

  private changed(key: string): void {
    this.dirty.add(key);
    this.scheduleFetch();
  }

  private scheduleFetch(): void {
    if (this.fetchTimer || this.closed) return;
    this.fetchTimer = setTimeout(() => {
      this.fetchTimer = undefined;
      // A listing in progress may hold older values: these keys are read after it.
      if (this.syncing) return;
      const keys = [...this.dirty];
      this.dirty.clear();
      this.read(keys)
        .then((pairs) => {
          const found = new Map(pairs);
          for (const k of keys) {
            const v = found.get(k);
            if (v === undefined) this.mirror?.delete(k);
            else this.mirror?.set(k, v);
          }
        })
        .catch(() => {
          // Lost with the connection: the reconnection lists everything again.
          for (const k of keys) this.dirty.add(k);
        });
    }, FETCH_WINDOW_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.tick);
    clearTimeout(this.fetchTimer);
    this.mirror?.close();
    this.client.disconnect();
    this.sub.disconnect();
    await this.syncing;
  }
}
