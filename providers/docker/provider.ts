import * as os from 'node:os';
import Dockerode from 'dockerode';
import { configFromContainers } from '../../src/dynamic/labels';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import type { Provider } from '../../src/provider';
import { Coalescer } from './coalescer';
import { toContainerInfo, type AddressContext } from './container-info';
import { resolveEndpoint, type Endpoint } from './endpoint';
import { EngineState } from './engine-state';
import { EventFollower, type EngineEvent } from './events';
import { decodeDockerOptions, labelOptions, type DockerOptions } from './options';

/**
 * Routes from the labels of the running containers of a Docker engine.
 * Lists once at start, then re-lists on every burst of container and
 * network events; after any reconnection of the event stream it re-lists in
 * full, so a daemon restart or a dropped stream never leaves stale routes
 * for longer than the reconnect. Only GET endpoints are used
 * (`/version`, `/containers/json`, `/containers/{id}/json`, `/events`).
 */
const CONTAINER_ACTIONS = new Set(['start', 'die', 'kill', 'stop', 'pause', 'unpause', 'destroy', 'rename', 'update', 'restart', 'oom']);
const NETWORK_ACTIONS = new Set(['connect', 'disconnect']);

export class DockerProvider implements Provider {
  readonly name: string = 'docker';
  private readonly endpoint: Endpoint;
  private readonly docker: Dockerode;
  private follower?: EventFollower;
  private coalescer?: Coalescer;
  private retry?: NodeJS.Timeout;
  private closed = false;
  private last = '';

  constructor(private readonly opts: DockerOptions, env: NodeJS.ProcessEnv = process.env) {
    this.endpoint = resolveEndpoint(opts, env);
    this.docker = new Dockerode(this.endpoint.options);
  }

  /** Decodes `providers.docker` (raw map from the static config); errors name the option path. */
  static fromConfig(raw: unknown, path = 'providers.docker', env: NodeJS.ProcessEnv = process.env): DockerProvider {
    return new DockerProvider(decodeDockerOptions(raw, path), env);
  }

  async start(push: (snapshot: ProviderSnapshot) => void, parentLog: Logger): Promise<void> {
    const log = parentLog.child({ provider: this.name });
    const state = new EngineState(log, this.name, this.endpoint.display);
    let retryDelay = 200;
    const sync = async (): Promise<void> => {
      if (this.closed) return;
      try {
        const snap = await this.list();
        state.up();
        retryDelay = 200;
        const json = JSON.stringify(snap);
        if (json !== this.last && !this.closed) {
          this.last = json;
          push(snap);
        }
      } catch (err) {
        state.down(err);
        // While the event stream is down its reconnection triggers the resync; otherwise retry here.
        if (!this.follower?.connected && this.follower) return;
        if (!this.closed) {
          this.retry = setTimeout(() => this.coalescer?.request(), retryDelay);
          retryDelay = Math.min(retryDelay * 2, 5000);
        }
      }
    };
    this.coalescer = new Coalescer(this.opts.throttle, sync);
    await sync();
    if (!this.opts.watch || this.closed) return;
    this.follower = new EventFollower(this.docker, { type: ['container', 'network'] }, {
      onEvent: (ev) => {
        if (relevant(ev)) this.coalescer?.request();
      },
      onConnect: () => this.coalescer?.request(),
      onDisconnect: (err) => state.down(err),
    });
    this.follower.start();
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
    const result = configFromContainers(mapped.map((m) => m.info), labelOptions(this.opts));
    for (const m of mapped) if (m.warning) (result.warnings[m.info.name] ??= []).push(m.warning);
    return { provider: this.name, ...result };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.follower?.close();
    this.coalescer?.close();
    if (this.retry) clearTimeout(this.retry);
  }
}

function relevant(ev: EngineEvent): boolean {
  const action = (ev.Action ?? '').split(':')[0].trim();
  if (ev.Type === 'network') return NETWORK_ACTIONS.has(action);
  return action === 'health_status' || CONTAINER_ACTIONS.has(action);
}

