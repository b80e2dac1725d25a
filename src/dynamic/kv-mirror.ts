import type { ProviderSnapshot } from './model';
import type { Logger } from '../log/logger';
import { decodeKv } from './kv-tree';

/**
 * A key-value provider's local copy of the keys below its root key, and the
 * one place that turns it into snapshots. The store's client feeds it full
 * listings and single changes; a burst of changes within `debounceMs` is
 * applied as one snapshot, and the configuration is rebuilt only when a key
 * below the root actually changed (a write of the same value, or a listing
 * that finds what is already known, costs nothing). A store that is
 * unreachable feeds nothing, so the last configuration keeps serving: an
 * empty snapshot is only ever pushed for a store that answered and is empty.
 */
export class KvMirror {
  private readonly pairs = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private dirty = false;
  private lastPushed?: string;
  private closed = false;
  private listed = false;

  constructor(
    private readonly provider: string,
    private readonly rootKey: string,
    private readonly push: (s: ProviderSnapshot) => void,
    private readonly log: Logger,
    private readonly debounceMs = 20,
  ) {}

  /** Whether a full listing has been applied yet (a change before it is not a whole configuration). */
  get ready(): boolean {
    return this.listed;
  }

  /** Everything below the root key, as the store answered a full listing. */
  replaceAll(entries: Iterable<readonly [string, string]>): void {
    const next = new Map(entries);
    let changed = next.size !== this.pairs.size || !this.listed;
    for (const [k, v] of next) if (this.pairs.get(k) !== v) changed = true;
    this.listed = true;
    if (!changed) return;
    this.pairs.clear();
    for (const [k, v] of next) this.pairs.set(k, v);
    this.touch();
  }

  set(key: string, value: string): void {
    if (this.pairs.get(key) === value) return;
    this.pairs.set(key, value);
    this.touch();
  }

  delete(key: string): void {
    if (this.pairs.delete(key)) this.touch();
  }

  /** Applies what is pending now (start-up, so that the first configuration is in force when start resolves). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty) this.build();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private touch(): void {
    this.dirty = true;
    if (!this.listed || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.build();
    }, this.debounceMs);
  }

  private build(): void {
    this.dirty = false;
    if (this.closed) return;
    const decoded = decodeKv(this.pairs, this.rootKey);
    if (decoded.errors.file) {
      // As with a file that cannot be read as a whole: its objects cannot be trusted, so the last good configuration stays.
      for (const e of decoded.errors.file) this.log.error(`${this.provider} configuration rejected, keeping the last good one`, { error: e });
      return;
    }
    const snapshot: ProviderSnapshot = { provider: this.provider, config: decoded.config, errors: decoded.errors, warnings: decoded.warnings };
    const json = JSON.stringify([snapshot, decoded.notices]);
    if (json === this.lastPushed) return;
    this.lastPushed = json;
    for (const n of decoded.notices) this.log.warn(n);
    for (const e of decoded.all) this.log.error(`${this.provider} configuration: object disabled, or kept on its last good definition`, { error: e.message });
    this.log.info(`${this.provider} configuration applied`, { keys: this.pairs.size });
    this.push(snapshot);
  }
}

/** Reconnection delays: doubling from `first` to `max`, back to `first` after a success. */
export class Backoff {
  private current: number;

  constructor(
    private readonly first = 200,
    private readonly max = 10_000,
  ) {
    this.current = first;
  }

  next(): number {
    const d = this.current;
    this.current = Math.min(this.current * 2, this.max);
    return d;
  }

  reset(): void {
    this.current = this.first;
  }
}
