import type { DynamicConfig } from '../../src/dynamic/model';
import { Gateway } from '../../src/server/gateway';
import { StaticProvider } from '../../src/static-provider';
import { staticConfigDecoder } from '../../src/config/static';
import { silentLogger, createLogger } from '../../src/log/logger';
import { middlewareTypes } from '../../middlewares/index';
import type { Provider } from '../../src/provider';
import type { RouterRuntime } from '../../src/routing/runtime';
import { TlsManager } from '../../src/tls/index';
import type { RequestObserver } from '../../src/server/observer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestGateway {
  /** `http://127.0.0.1:<port>` of the `web` entrypoint. */
  url: string;
  port: number;
  gateway: Gateway;
  /** Replaces the `file` provider's configuration and waits until it is in force. */
  update(dynamic: DynamicConfig): Promise<void>;
  router(name: string): RouterRuntime | undefined;
  close(): Promise<void>;
}

/**
 * The real gateway on 127.0.0.1:0 with one HTTP entrypoint `web`, its
 * dynamic configuration served under provider `file`. `staticConfig` adds
 * or overrides static keys (Traefik shape), `providers` adds providers.
 * Every entrypoint ends TLS as in the product, with the default (self-signed)
 * certificate unless the dynamic configuration brings one.
 */
export async function startTestGateway(
  dynamic: DynamicConfig,
  opts: { staticConfig?: Record<string, unknown>; providers?: Provider[]; debug?: boolean; observers?: RequestObserver[] } = {},
): Promise<TestGateway> {
  const config = staticConfigDecoder({ entryPoints: { web: { address: '127.0.0.1:0' } }, providers: { providersThrottleDuration: '5ms' }, ...opts.staticConfig }, '');
  const file = new StaticProvider('file', dynamic);
  const log = opts.debug ? createLogger({ level: 'debug' }) : silentLogger;
  const dataDir = mkdtempSync(join(tmpdir(), 'portier-gw-'));
  const tls = new TlsManager({ dataDir });
  const gateway = new Gateway({ config, providers: [file, ...(opts.providers ?? [])], middlewareTypes, log, observers: opts.observers, tlsFor: () => tls.httpsServerOptions() });
  gateway.onChange((table, snapshots) => tls.update([...snapshots.values()].find((s) => s.provider === 'file')?.config.tls, []));
  await gateway.start();
  gateway.flush();
  const port = gateway.port('web');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    gateway,
    async update(next) {
      file.set(next);
      gateway.flush();
    },
    router: (name) => gateway.table.routers.get(name.includes('@') ? name : `${name}@file`),
    async close() {
      await gateway.close(1000);
      await tls.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
