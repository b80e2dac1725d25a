import type { Provider } from './provider';
import type { DynamicConfig, ProviderSnapshot } from './dynamic/model';
import { decodeDynamic } from './dynamic/decode-dynamic';

/**
 * A provider whose configuration is set in code: the internal routes
 * (API, dashboard, ping) and embedding Portier as a library or in tests.
 * Each `set` is decoded like a file, errors attaching to their objects.
 */
export class StaticProvider implements Provider {
  private push?: (s: ProviderSnapshot) => void;
  private snapshot: ProviderSnapshot;

  constructor(readonly name: string, config: DynamicConfig = {}) {
    this.snapshot = this.decode(config);
  }

  async start(push: (s: ProviderSnapshot) => void): Promise<void> {
    this.push = push;
    push(this.snapshot);
  }

  set(config: DynamicConfig): void {
    this.snapshot = this.decode(config);
    this.push?.(this.snapshot);
  }

  async close(): Promise<void> {
    this.push = undefined;
  }

  private decode(config: DynamicConfig): ProviderSnapshot {
    const decoded = decodeDynamic(config);
    return { provider: this.name, config: decoded.config, errors: decoded.errors, warnings: decoded.warnings };
  }
}
