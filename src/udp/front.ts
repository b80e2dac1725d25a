import type { StaticConfig } from '../config/static';
import type { ProviderSnapshot } from '../dynamic/model';
import type { Logger } from '../log/logger';
import { errorMessage } from '../errors';
import { isUdpAddress } from './address';
import { compileUdp, newUdpCompileCache } from './compile-udp';
import { UdpEntryPoint } from './entrypoint';
import { UdpTable } from './table';

type EntryPoints = StaticConfig['entryPoints'];

/** The entrypoints HTTP (and TCP) routers may use: a UDP one is as absent to them, as in Traefik. */
export const tcpEntryPoints = (eps: EntryPoints): EntryPoints => Object.fromEntries(Object.entries(eps).filter(([, e]) => !isUdpAddress(e.address)));

/**
 * The gateway's UDP side: the `/udp` entrypoints, and the UDP table
 * compiled from the providers' snapshots with each configuration change.
 */
export class UdpFront {
  private readonly entryPoints: UdpEntryPoint[] = [];
  private readonly kinds: Record<string, 'tcp' | 'udp'>;
  private readonly cache = newUdpCompileCache();
  private current = UdpTable.EMPTY;

  constructor(eps: EntryPoints, private readonly log: Logger) {
    this.kinds = Object.fromEntries(Object.entries(eps).map(([name, e]) => [name, isUdpAddress(e.address) ? 'udp' : 'tcp']));
    for (const [name, e] of Object.entries(eps)) {
      if (!isUdpAddress(e.address)) continue;
      this.entryPoints.push(
        new UdpEntryPoint({
          name, address: e.address, timeoutMs: e.udp.timeout, maxSessions: e.udp.maxSessions,
          route: () => this.current.route(name), log: log.child({ entryPoint: name }),
        }),
      );
    }
  }

  compile(snapshots: Iterable<ProviderSnapshot>): UdpTable {
    this.current = compileUdp(snapshots, this.kinds, this.cache);
    for (const r of this.current.routers.values()) {
      if (r.errors.length) this.log.warn('UDP router disabled', { router: r.name, error: r.errors.join('; ') });
    }
    return this.current;
  }

  /** Binds every UDP entrypoint; the first that cannot bind stops the start, naming it. */
  async listen(): Promise<void> {
    for (const ep of this.entryPoints) {
      try {
        const addr = await ep.listen();
        this.log.info('entrypoint listening', { entryPoint: ep.name, address: `${addr.host}:${addr.port}/udp` });
      } catch (err) {
        throw new Error(`entryPoints.${ep.name}: cannot listen on ${ep.address}: ${errorMessage(err)}`);
      }
    }
  }

  port(entryPoint: string): number | undefined {
    return this.entryPoints.find((e) => e.name === entryPoint)?.port;
  }

  async close(): Promise<void> {
    await Promise.all(this.entryPoints.map((ep) => ep.close()));
  }
}
