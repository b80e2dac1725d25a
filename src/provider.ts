import type { ProviderSnapshot } from './dynamic/model';
import type { Logger } from './log/logger';

/**
 * A provider turns its source (a file, an engine's containers) into
 * `ProviderSnapshot`s and pushes a new one whenever the source changes. It
 * knows nothing about sockets, TLS or metrics.
 */
export interface Provider {
  /** Namespace of the names it emits: `file`, `docker`, `runtime`, `swarm`. */
  readonly name: string;
  /** Starts watching; calls `push` with the first snapshot as soon as it has one. */
  start(push: (snapshot: ProviderSnapshot) => void, log: Logger): Promise<void>;
  /** Safe to call after a half-finished start. */
  close(): Promise<void>;
}
