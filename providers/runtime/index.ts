import type { ContainerInfo, LabelOptions } from '../../src/dynamic/container';
import { NoticeLog } from '../../src/dynamic/label-merge';
import { configFromContainers } from '../../src/dynamic/labels';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Engine } from '../../src/engine/engine';
import type { Replica } from '../../src/engine/replica';
import type { Logger } from '../../src/log/logger';
import type { Provider } from '../../src/provider';

export interface RuntimeProviderOptions {
  /** Label parsing: default prefixes ['portier', 'traefik'], exposed by default. */
  labels?: Partial<LabelOptions>;
  /** Changes within this window become one snapshot; default 20 ms. */
  coalesceMs?: number;
}

/**
 * Routes the replicas of an in-process runtime engine through the shared
 * label parser: every replica is a container at 127.0.0.1 whose one port is
 * its PORT, a server only while it is ready (running, not stopping, healthy
 * if it has a health check). The engine announces a stopping replica before
 * signalling it, so it leaves the table while it still answers.
 */
export class RuntimeProvider implements Provider {
  readonly name = 'runtime';
  private readonly labelOptions: LabelOptions;
  private readonly coalesceMs: number;
  private timer?: NodeJS.Timeout;
  private last = '';
  private push?: (s: ProviderSnapshot) => void;
  private log?: Logger;
  private readonly notices = new NoticeLog();
  private readonly onChange = (): void => {
    if (this.timer || !this.push) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.publish();
    }, this.coalesceMs);
  };

  constructor(
    private readonly engine: Engine,
    opts: RuntimeProviderOptions = {},
  ) {
    this.labelOptions = { prefixes: ['portier', 'traefik'], exposedByDefault: true, ...opts.labels };
    this.coalesceMs = opts.coalesceMs ?? 20;
  }

  async start(push: (snapshot: ProviderSnapshot) => void, log: Logger): Promise<void> {
    this.push = push;
    this.log = log;
    this.engine.on('change', this.onChange);
    this.publish();
  }

  async close(): Promise<void> {
    this.engine.off('change', this.onChange);
    clearTimeout(this.timer);
    this.timer = undefined;
    this.push = undefined;
  }

  private publish(): void {
    if (!this.push) return;
    const containers = this.engine.list().map(toContainer);
    const { config, errors, warnings, notices } = configFromContainers(containers, this.labelOptions);
    this.notices.report(notices, this.log);
    const snapshot: ProviderSnapshot = { provider: this.name, config, errors, warnings };
    const text = JSON.stringify(snapshot);
    if (text === this.last) return;
    this.last = text;
    this.log?.debug('runtime snapshot', { replicas: containers.length, ready: containers.filter((c) => c.ready).length });
    this.push(snapshot);
  }
}

function toContainer(r: Replica): ContainerInfo {
  return {
    id: r.id,
    name: r.name,
    labels: r.labels,
    address: '127.0.0.1',
    ports: [r.port],
    ready: r.ready,
    ...(r.health ? { health: r.health.status } : {}),
  };
}
