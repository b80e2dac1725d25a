import type Dockerode from 'dockerode';
import { dockerode } from '../../src/libraries';
import { NoticeLog } from '../../src/dynamic/label-merge';
import { configFromContainers } from '../../src/dynamic/labels';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import type { Provider } from '../../src/provider';
import { resolveEndpoint, type Endpoint } from '../docker/endpoint';
import { EngineWatch } from '../docker/engine-watch';
import type { EngineEvent } from '../docker/events';
import { labelOptions } from '../docker/options';
import { decodeSwarmOptions, type SwarmOptions } from './options';
import { tasksToContainers, type SwarmService, type SwarmTask } from './tasks';

/**
 * Routes from the labels of Swarm services (`deploy.labels`), one server per
 * running task. Re-lists every `refreshSeconds` and, between polls, on
 * service and node events and on start/die of task containers on this node
 * (Swarm has no task events). Read-only: `/services`, `/tasks`, `/networks`,
 * `/events`.
 */
const TASK_CONTAINER_ACTIONS = new Set(['start', 'die', 'kill', 'stop', 'destroy', 'health_status']);

export class SwarmProvider implements Provider {
  readonly name: string = 'swarm';
  private readonly endpoint: Endpoint;
  private readonly docker: Dockerode;
  private readonly watcher: EngineWatch;
  private readonly notices = new NoticeLog();
  private log?: Logger;

  constructor(private readonly opts: SwarmOptions, env: NodeJS.ProcessEnv = process.env) {
    this.endpoint = resolveEndpoint(opts, env);
    this.docker = new (dockerode())(this.endpoint.options);
    this.watcher = new EngineWatch({
      name: this.name,
      docker: this.docker,
      endpoint: this.endpoint.display,
      throttleMs: opts.throttle,
      watch: opts.watch,
      filters: { type: ['service', 'node', 'container'] },
      relevant,
      list: () => this.list(),
      pollMs: opts.refreshSeconds,
    });
  }

  /** Decodes `providers.swarm` (raw map from the static config); errors name the option path. */
  static fromConfig(raw: unknown, path = 'providers.swarm', env: NodeJS.ProcessEnv = process.env): SwarmProvider {
    return new SwarmProvider(decodeSwarmOptions(raw, path), env);
  }

  start(push: (snapshot: ProviderSnapshot) => void, log: Logger): Promise<void> {
    this.log = log.child({ provider: this.name });
    return this.watcher.start(push, log);
  }

  private async list(): Promise<ProviderSnapshot> {
    const services = (await this.docker.listServices()) as unknown as SwarmService[];
    const tasks = (await this.docker.listTasks({ filters: JSON.stringify({ 'desired-state': ['running'] }) })) as SwarmTask[];
    const needsVip = services.some((s) => Object.keys(s.Spec?.Labels ?? {}).some((k) => /\.(swarm|docker)\.lbswarm$/i.test(k)));
    const networks = needsVip ? await this.docker.listNetworks({ filters: JSON.stringify({ scope: ['swarm'] }) } as Dockerode.NetworkListOptions) : [];
    const mapped = tasksToContainers(services, tasks, {
      prefixes: this.opts.prefixes,
      network: this.opts.network,
      networkNames: new Map(networks.map((n) => [n.Id, n.Name])),
    });
    const { notices, ...result } = configFromContainers(mapped.containers, labelOptions(this.opts));
    this.notices.report(notices, this.log);
    for (const [name, msgs] of Object.entries(mapped.warnings)) (result.warnings[name] ??= []).push(...msgs);
    return { provider: this.name, ...result };
  }

  async close(): Promise<void> {
    this.watcher.close();
  }
}

function relevant(ev: EngineEvent): boolean {
  if (ev.Type === 'service' || ev.Type === 'node') return true;
  const action = (ev.Action ?? '').split(':')[0].trim();
  return ev.Actor?.Attributes?.['com.docker.swarm.service.id'] !== undefined && TASK_CONTAINER_ACTIONS.has(action);
}
