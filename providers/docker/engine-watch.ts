import type Dockerode from 'dockerode';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import { Coalescer } from './coalescer';
import { EngineState } from './engine-state';
import { EventFollower, type EngineEvent } from './events';

/**
 * The loop both engine providers share: list once at start, re-list on
 * every burst of relevant events (coalesced over `throttleMs`), re-list in
 * full after each reconnection of the event stream and, for swarm, every
 * `pollMs`. A failed list keeps the last routes and is retried; a snapshot
 * is pushed only when it differs from the last one.
 */
export interface WatchSpec {
  name: string;
  docker: Dockerode;
  endpoint: string;
  throttleMs: number;
  watch: boolean;
  filters: Record<string, string[]>;
  relevant(ev: EngineEvent): boolean;
  list(): Promise<ProviderSnapshot>;
  pollMs?: number;
}

const MAX_RETRY_MS = 5000;
const START_WAIT_MS = 5000;

export class EngineWatch {
  private follower?: EventFollower;
  private coalescer?: Coalescer;
  private retry?: NodeJS.Timeout;
  private poll?: NodeJS.Timeout;
  private closed = false;
  private last = '';

  constructor(private readonly spec: WatchSpec) {}

  async start(push: (snapshot: ProviderSnapshot) => void, parentLog: Logger): Promise<void> {
    const log = parentLog.child({ provider: this.spec.name });
    const state = new EngineState(log, this.spec.name, this.spec.endpoint);
    let retryDelay = 200;
    // A slow list overtaken by a newer one (only possible around start) must not push stale routes.
    let started = 0;
    let newest = 0;
    const sync = async (): Promise<void> => {
      if (this.closed) return;
      const seq = ++started;
      try {
        const snap = await this.spec.list();
        state.up();
        retryDelay = 200;
        if (seq < newest) return;
        newest = seq;
        const json = JSON.stringify(snap);
        if (json !== this.last && !this.closed) {
          this.last = json;
          push(snap);
        }
      } catch (err) {
        state.down(err);
        // While the event stream is down, its reconnection triggers the re-list.
        if (this.closed || (this.follower && !this.follower.connected)) return;
        if (this.retry) clearTimeout(this.retry);
        this.retry = setTimeout(() => this.coalescer?.request(), retryDelay);
        retryDelay = Math.min(retryDelay * 2, MAX_RETRY_MS);
      }
    };
    this.coalescer = new Coalescer(this.spec.throttleMs, sync);
    // An engine that accepts the connection but never answers must not hold up the gateway's start.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([sync(), new Promise<void>((resolve) => (timer = setTimeout(resolve, START_WAIT_MS)))]);
    clearTimeout(timer);
    if (this.closed) return;
    if (this.spec.pollMs) {
      this.poll = setInterval(() => this.coalescer?.request(), this.spec.pollMs);
      this.poll.unref();
    }
    if (!this.spec.watch) return;
    this.follower = new EventFollower(this.spec.docker, this.spec.filters, {
      onEvent: (ev) => {
        if (this.spec.relevant(ev)) this.coalescer?.request();
      },
      onConnect: () => this.coalescer?.request(),
      onDisconnect: (err) => state.down(err),
    });
    this.follower.start();
  }

  close(): void {
    this.closed = true;
    this.follower?.close();
    this.coalescer?.close();
    if (this.retry) clearTimeout(this.retry);
    if (this.poll) clearInterval(this.poll);
  }
}
