import type { Provider } from '../../src/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import type { EtcdOptions } from '../../src/config/kv-options';
import { Backoff, KvMirror } from '../../src/dynamic/kv-mirror';
import { errorMessage } from '../../src/errors';
import { EtcdClient, type EtcdWatch } from '../../src/kv/etcd-client';
import { clientTlsOptions } from './tls';

/** How long start() waits for the first listing before the gateway goes on without it. */
const START_WAIT_MS = 3000;
/**
 * How often the endpoint is asked whether it still answers while a watch is
 * open: a watch on a connection that went silent (a host gone from the
 * network) would otherwise wait for TCP keep-alive, minutes.
 */
const PROBE_MS = 15_000;

/**
 * Routes from etcd keys below `rootKey`, in Traefik's KV layout. Lists the
 * keys once, then follows a v3 watch from the listing's revision, so that no
 * change between the two is missed and each change arrives as the key and
 * its value (no re-listing per event). A dropped watch or an unreachable
 * store keeps the last configuration serving; the provider reconnects with
 * a doubling delay (0.2 s to 10 s, logged), lists again and watches on.
 */
export class EtcdProvider implements Provider {
  readonly name = 'etcd';
  private readonly client: EtcdClient;
  private readonly prefix: string;
  private readonly backoff = new Backoff();
  private mirror?: KvMirror;
  private watch?: EtcdWatch;
  private sleeping?: { timer: NodeJS.Timeout; wake: () => void };
  private probe?: NodeJS.Timeout;
  private closed = false;
  private loop?: Promise<void>;

  constructor(private readonly opts: EtcdOptions, baseDir: string) {
    this.client = new EtcdClient({
      endpoints: opts.endpoints,
      username: opts.username,
      password: opts.password,
      tls: opts.tls && clientTlsOptions(opts.tls, baseDir, 'providers.etcd'),
    });
    this.prefix = `${opts.rootKey}/`;
  }

  async start(push: (s: ProviderSnapshot) => void, log: Logger): Promise<void> {
    this.mirror = new KvMirror(this.name, this.opts.rootKey, push, log);
    let listed!: () => void;
    const first = new Promise<void>((resolve) => (listed = resolve));
    this.loop = this.run(log, listed);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, START_WAIT_MS)))]);
    clearTimeout(timer);
    if (!this.mirror.ready) log.warn('etcd not reachable yet; its routes are added once it answers', { endpoints: this.opts.endpoints.join(',') });
    this.mirror.flush();
  }

  private async run(log: Logger, listed: () => void): Promise<void> {
    let down = false;
    while (!this.closed) {
      try {
        const { revision, pairs } = await this.client.range(this.prefix);
        if (this.closed) return;
        this.mirror!.replaceAll(pairs);
        listed();
        if (down) log.info('etcd reachable again; keys listed and watched', { endpoint: this.client.endpoint, keys: pairs.length });
        down = false;
        this.backoff.reset();
        this.watch = await this.client.watch(this.prefix, revision + 1, (events) => {
          for (const e of events) {
            if (e.type === 'DELETE') this.mirror!.delete(e.key);
            else this.mirror!.set(e.key, e.value);
          }
        });
        const watch = this.watch;
        this.probe = setInterval(() => this.client.alive(this.prefix).catch((err) => watch.close(`stopped answering (${errorMessage(err)})`)), PROBE_MS);
        await watch.ended;
      } catch (err) {
        clearInterval(this.probe);
        if (this.closed) return;
        down = true;
        const delay = this.backoff.next();
        log.warn('etcd unreachable or watch lost; the last configuration keeps serving', { error: errorMessage(err), retryInMs: delay });
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.sleeping = undefined;
        resolve();
      };
      this.sleeping = { timer: setTimeout(wake, ms), wake };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probe);
    this.mirror?.close();
    this.watch?.close();
    this.client.close();
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.wake();
    }
    await this.loop;
  }
}
