import * as os from 'node:os';
import type Dockerode from 'dockerode';
import { dockerode } from '../../src/libraries';
import { NoticeLog } from '../../src/dynamic/label-merge';
import { configFromContainers } from '../../src/dynamic/labels';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import type { Provider } from '../../src/provider';
import { toContainerInfo, type AddressContext } from './container-info';
import { resolveEndpoint, type Endpoint } from './endpoint';
import { EngineWatch } from './engine-watch';
import type { EngineEvent } from './events';
import { decodeDockerOptions, labelOptions, type DockerOptions } from './options';

/**
 * Routes from the labels of the running containers of a Docker engine.
 * Lists once at start, then re-lists on every burst of container and
 * network events; after any reconnection of the event stream it re-lists in
 * full, so a daemon restart or a dropped stream never leaves stale routes
 * for longer than the reconnect. Only GET endpoints are used
 * (`/containers/json`, `/containers/{id}/json`, `/events`).
 */
const CONTAINER_ACTIONS = new Set(['start', 'die', 'kill', 'stop', 'pause', 'unpause', 'destroy', 'rename', 'update', 'restart', 'oom']);
const NETWORK_ACTIONS = new Set(['connect', 'disconnect']);

export class DockerProvider implements Provider {
  readonly name: string = 'docker';
  private readonly endpoint: Endpoint;
  private readonly docker: Dockerode;
  private readonly watcher: EngineWatch;
  private readonly notices = new NoticeLog();
  private log?: Logger;

  constructor(private readonly opts: DockerOptions, env: NodeJS.ProcessEnv = process.env) {
    this.endpoint = resolveEndpoint(opts, env);
    this.docker = new (dockerode())(this.endpoint.options);
    this.watcher = new EngineWatch({
      name: this.name,
      docker: this.docker,
      endpoint: this.endpoint.display,
      throttleMs: opts.throttle,
      watch: opts.watch,
      filters: { type: ['container', 'network'] },
      relevant,
      list: () => this.list(),
    });
  }

  /** Decodes `providers.docker` (raw map from the static config); errors name the option path. */
  static fromConfig(raw: unknown, path = 'providers.docker', env: NodeJS.ProcessEnv = process.env): DockerProvider {
    return new DockerProvider(decodeDockerOptions(raw, path), env);
  }

  start(push: (snapshot: ProviderSnapshot) => void, log: Logger): Promise<void> {
    this.log = log.child({ provider: this.name });
    return this.watcher.start(push, log);
  }

  private async list(): Promise<ProviderSnapshot> {
    const summaries = await this.docker.listContainers({ all: true });
    const running = summaries.filter((s) => s.State === 'running');
    const inspected: Dockerode.ContainerInspectInfo[] = [];
    for (let i = 0; i < running.length; i += 16) {
      const batch = await Promise.all(
        running.slice(i, i + 16).map((s) =>
          this.docker
            .getContainer(s.Id)
            .inspect()
            .catch((err: { statusCode?: number }) => {
              // Gone between list and inspect: its destroy event triggers another pass.
              if (err.statusCode === 404) return undefined;
              throw err;
            }),
        ),
      );
      for (const c of batch) if (c) inspected.push(c);
    }
    const host = os.hostname();
    const self = /^[0-9a-f]{12,64}$/.test(host) ? inspected.find((c) => c.Id.startsWith(host)) : undefined;
    const ctx: AddressContext = {
      prefixes: this.opts.prefixes,
      network: this.opts.network,
      selfNetworks: new Set(Object.keys(self?.NetworkSettings?.Networks ?? {})),
      byId: new Map(inspected.map((c) => [c.Id, c])),
    };
    const mapped = inspected.map((c) => toContainerInfo(c, ctx));
    const { notices, ...result } = configFromContainers(mapped.map((m) => m.info), labelOptions(this.opts));
    this.notices.report(notices, this.log);
    for (const m of mapped) if (m.warning) (result.warnings[m.info.name] ??= []).push(m.warning);
    return { provider: this.name, ...result };
  }

  async close(): Promise<void> {
    this.watcher.close();
  }
}

function relevant(ev: EngineEvent): boolean {
  const action = (ev.Action ?? '').split(':')[0].trim();
  if (ev.Type === 'network') return NETWORK_ACTIONS.has(action);
  return action === 'health_status' || CONTAINER_ACTIONS.has(action);
}

