import { resolve } from 'node:path';
import type { StaticConfig } from './config/static';
import type { Provider } from './provider';
import type { Logger } from './log/logger';
import { errorMessage } from './errors';
import { FileProvider } from '../providers/file/index';
import { RuntimeProvider } from '../providers/runtime/index';
import { decodeRuntimeOptions } from '../providers/runtime/options';
import { DockerProvider } from '../providers/docker/index';
import { SwarmProvider } from '../providers/swarm/index';
import { EtcdProvider } from '../providers/etcd/index';
import { RedisProvider } from '../providers/redis/index';
import { Engine, EngineApiServer, engineSocketPath } from './engine/index';
import { middlewareTypes as registry } from '../middlewares/index';
import type { MiddlewareType } from '../middlewares/types';

/**
 * The one place where src/ meets providers/ and middlewares/: it turns the
 * static configuration's provider sections into providers, hosts the
 * embedded engine, and exposes the middleware registry.
 */
export const middlewareTypes: ReadonlyMap<string, MiddlewareType<unknown>> = registry;

export interface Plugins {
  providers: Provider[];
  /** The embedded engine, when the runtime provider is on. */
  engine?: Engine;
  /** Brings up the configured stacks; runs once the gateway listens. */
  afterStart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The providers a configuration runs. With none configured, Portier runs its
 * defaults: the embedded runtime engine, and Docker when an engine answers
 * (one log line when it does not). With providers configured, exactly those.
 */
export function providerNames(config: StaticConfig): Set<'file' | 'docker' | 'swarm' | 'runtime' | 'etcd' | 'redis'> {
  const p = config.providers;
  const none = !p.file && !p.docker && !p.swarm && !p.runtime && !p.etcd && !p.redis;
  const names = new Set<'file' | 'docker' | 'swarm' | 'runtime' | 'etcd' | 'redis'>();
  if (p.file && (p.file.filename || p.file.directory)) names.add('file');
  if (p.docker || none) names.add('docker');
  if (p.swarm) names.add('swarm');
  if (p.runtime || none) names.add('runtime');
  if (p.etcd) names.add('etcd');
  if (p.redis) names.add('redis');
  return names;
}

export function buildPlugins(config: StaticConfig, baseDir: string, log: Logger, engineSocketFlag?: string): Plugins {
  const p = config.providers;
  const names = providerNames(config);
  const providers: Provider[] = [];
  if (names.has('file')) providers.push(new FileProvider({ filename: p.file!.filename, directory: p.file!.directory, watch: p.file!.watch }));
  if (names.has('docker')) providers.push(DockerProvider.fromConfig(p.docker ?? {}, 'providers.docker'));
  if (names.has('swarm')) providers.push(SwarmProvider.fromConfig(p.swarm!, 'providers.swarm'));
  if (p.etcd) providers.push(new EtcdProvider(p.etcd, baseDir));
  if (p.redis) providers.push(new RedisProvider(p.redis, baseDir));
  if (!names.has('runtime')) return { providers, afterStart: async () => undefined, close: async () => undefined };

  const opts = decodeRuntimeOptions(p.runtime ?? {}, 'providers.runtime');
  const engine = new Engine({ logger: log.child({ component: 'engine' }), drainDelayMs: opts.drainDelay });
  const api = new EngineApiServer(engine, { socketPath: engineSocketPath(engineSocketFlag ?? opts.socket), logger: log.child({ component: 'engine-api' }) });
  providers.push(
    new RuntimeProvider(engine, {
      labels: {
        exposedByDefault: opts.exposedByDefault,
        ...(opts.defaultRule ? { defaultRule: opts.defaultRule } : {}),
        ...(opts.constraints ? { constraints: opts.constraints } : {}),
        ...(opts.prefixes ? { prefixes: opts.prefixes } : {}),
      },
    }),
  );
  return {
    providers,
    engine,
    async afterStart() {
      try {
        await api.listen();
      } catch (err) {
        log.warn('engine socket not available; `portier up` cannot reach this engine', { error: errorMessage(err) });
      }
      for (const stack of opts.stacks) {
        try {
          await engine.up(resolve(baseDir, stack));
        } catch (err) {
          log.error('stack not started', { stack, error: errorMessage(err) });
        }
      }
    },
    async close() {
      await api.close().catch(() => undefined);
      await engine.close();
    },
  };
}
