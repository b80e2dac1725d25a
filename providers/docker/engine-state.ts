import { errorMessage } from '../../src/errors';
import type { Logger } from '../../src/log/logger';

/**
 * Logs engine reachability once per change, not once per retry: one clear
 * line when the engine is absent at start or goes away, one when it is back.
 */
export class EngineState {
  private state: 'unknown' | 'up' | 'down' = 'unknown';

  constructor(
    private readonly log: Logger,
    private readonly provider: string,
    private readonly endpoint: string,
  ) {}

  up(): void {
    if (this.state === 'up') return;
    if (this.state === 'down') this.log.info(`${this.provider}: engine reachable again, routes resynced`, { endpoint: this.endpoint });
    else this.log.info(`${this.provider}: connected to the engine`, { endpoint: this.endpoint });
    this.state = 'up';
  }

  down(err: unknown): void {
    if (this.state === 'down') return;
    const msg =
      this.state === 'unknown'
        ? `${this.provider}: no engine reachable; its routes appear when it starts (retrying in the background)`
        : `${this.provider}: lost the engine; keeping the last routes and reconnecting`;
    this.log.warn(msg, { endpoint: this.endpoint, error: errorMessage(err) });
    this.state = 'down';
  }
}
