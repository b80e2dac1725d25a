import type https from 'node:https';
import type { StaticConfig } from '../config/static';
import type { ProviderSnapshot } from '../dynamic/model';
import type { Provider } from '../provider';
import type { Handler } from '../proxy/exchange';
import type { MiddlewareType } from '../../middlewares/types';
import type { Logger } from '../log/logger';
import type { RequestObserver } from './observer';
import { EntryPointServer, PreRouting } from './entrypoint';
import { missPage } from './miss-page';
import { compile, newCompileCache, CompileOptions } from '../routing/compile';
import { RoutingTable } from '../routing/table';
import { TRANSPORT_DEFAULTS, TransportOptions, loadCa, loadClientCertificate } from '../proxy/transport';
import { errorMessage } from '../errors';
import { compileTcp, newTcpCompileCache } from '../tcp/compile';
import { TcpTable } from '../tcp/tcp-table';
import type { TcpConnObserver } from '../tcp/tcp-front';
import { UdpFront, tcpEntryPoints } from '../udp/front';
import type { ServerState } from '../balancer/server-state';
import { HeapTrim } from './heap-trim';

export interface GatewayOptions {
  config: StaticConfig;
  providers: Provider[];
  middlewareTypes: ReadonlyMap<string, MiddlewareType<unknown>>;
  log: Logger;
  observers?: RequestObserver[];
  preRouting?: PreRouting[];
  /** TLS server options for an entrypoint: every one given them ends TLS on connections that start with a ClientHello. */
  tlsFor?: (entryPoint: string) => https.ServerOptions | undefined;
  /** The TLS manager's errors for a router's `tls` (see CompileOptions.routerTls). */
  routerTls?: CompileOptions['routerTls'];
  /** `name@internal` services (API, dashboard, ping) and the snapshot that routes to them. */
  internal?: { services: Record<string, Handler>; snapshot: ProviderSnapshot };
  /**
   * Which listeners this process binds (both by default). With workers (docs/workers.md) the primary binds
   * UDP only and the workers TCP only; the primary still compiles every entrypoint's routers.
   */
  bind?: { tcp: boolean; udp: boolean };
}

/**
 * An entrypoint terminates TLS when it has `http.tls`, or is named
 * `websecure` (the name every Traefik configuration gives its HTTPS port).
 */
export function isTlsEntryPoint(name: string, ep: StaticConfig['entryPoints'][string]): boolean {
  return ep.http?.tls !== undefined || name === 'websecure';
}

/**
 * The static `serversTransport`: the transport of every service that names
 * none. Its files are read once, at start; one that cannot be read stops
 * the start with the field at fault (`serversTransport.rootCAs[0]: …`).
 */
function staticTransport(st: StaticConfig['serversTransport']): TransportOptions {
  const ft = st?.forwardingTimeouts;
  return {
    insecureSkipVerify: st?.insecureSkipVerify ?? TRANSPORT_DEFAULTS.insecureSkipVerify,
    maxIdleConnsPerHost: st?.maxIdleConnsPerHost ?? TRANSPORT_DEFAULTS.maxIdleConnsPerHost,
    disableHTTP2: st?.disableHTTP2,
    dialTimeoutMs: ft?.dialTimeout ?? TRANSPORT_DEFAULTS.dialTimeoutMs,
    responseHeaderTimeoutMs: ft?.responseHeaderTimeout ?? TRANSPORT_DEFAULTS.responseHeaderTimeoutMs,
    idleConnTimeoutMs: ft?.idleConnTimeout ?? TRANSPORT_DEFAULTS.idleConnTimeoutMs,
    rootCAs: st?.rootCAs?.map((file, i) => loadCa(file, `serversTransport.rootCAs[${i}]`)),
    certificates: st?.certificates?.map((c, i) => loadClientCertificate(c.certFile, `serversTransport.certificates[${i}].certFile`, c.keyFile, `serversTransport.certificates[${i}].keyFile`)),
  };
}

export type TableListener = (table: RoutingTable, snapshots: ReadonlyMap<string, ProviderSnapshot>) => void;

/**
 * Owns the data flow: providers push snapshots, which are throttled,
 * compiled once into an immutable table, swapped in, and announced to
 * listeners (TLS, API, metrics). Entrypoints read whatever table is current.
 */
export class Gateway {
  private current: RoutingTable;
  private readonly snapshots = new Map<string, ProviderSnapshot>();
  private readonly entryPoints: EntryPointServer[] = [];
  private readonly udp: UdpFront;
  private readonly listeners: TableListener[] = [];
  private readonly cache = newCompileCache();
  private readonly tcpCache = newTcpCompileCache();
  private readonly compileOptions: CompileOptions;
  private pending?: NodeJS.Timeout;
  private readonly heapTrim = new HeapTrim();
  private closed = false;
  reloads = { total: 0, lastSuccess: true, lastAt: 0 };

  constructor(private readonly opts: GatewayOptions) {
    const { config } = opts;
    const eps = tcpEntryPoints(config.entryPoints);
    this.udp = new UdpFront(config.entryPoints, opts.log);
    const explicitDefault = Object.values(eps).some((e) => e.asDefault);
    const tlsOptions = new Map(Object.keys(eps).map((name) => [name, opts.tlsFor?.(name)]));
    this.compileOptions = {
      entryPoints: Object.fromEntries(
        Object.entries(eps).map(([name, e]) => [
          name,
          {
            tls: isTlsEntryPoint(name, e),
            endsTls: tlsOptions.get(name) !== undefined,
            asDefault: explicitDefault ? Boolean(e.asDefault) : name !== 'traefik' && !(name === 'metrics' && config.metrics?.prometheus?.entryPoint === 'metrics'),
            middlewares: e.http?.middlewares ?? [],
          },
        ]),
      ),
      defaultRuleSyntax: config.core.defaultRuleSyntax,
      transport: staticTransport(config.serversTransport),
      middlewareTypes: opts.middlewareTypes,
      log: opts.log,
      onHealthChange: () => this.announce(),
      internalServices: opts.internal?.services,
      routerTls: opts.routerTls,
    };
    if (opts.internal) this.snapshots.set('internal', opts.internal.snapshot);
    this.current = RoutingTable.empty(Object.fromEntries(Object.entries(this.compileOptions.entryPoints).map(([n, e]) => [n, e.tls])));
    for (const [name, cfg] of Object.entries(eps)) {
      this.entryPoints.push(
        new EntryPointServer({
          name, cfg, table: () => this.current, log: opts.log.child({ entryPoint: name }),
          observers: opts.observers ?? [], preRouting: opts.preRouting ?? [], tls: tlsOptions.get(name),
          miss: missPage(name, config, (ep) => this.port(ep)),
          tcp: { table: () => this.current.tcp ?? TcpTable.empty, observers: (opts.observers ?? []).filter((o): o is RequestObserver & TcpConnObserver => 'tcpOpened' in o) },
        }),
      );
    }
  }

  get table(): RoutingTable {
    return this.current;
  }

  get providerSnapshots(): ReadonlyMap<string, ProviderSnapshot> {
    return this.snapshots;
  }

  onChange(listener: TableListener): void {
    this.listeners.push(listener);
  }

  /** Listens on every entrypoint, then (after `listening`, e.g. giving up root) starts the providers. */
  async start(listening?: () => void): Promise<void> {
    this.recompile();
    for (const ep of this.opts.bind?.tcp === false ? [] : this.entryPoints) {
      try {
        const addr = await ep.listen();
        this.opts.log.info('entrypoint listening', { entryPoint: ep.name, address: `${addr.host}:${addr.port}` });
      } catch (err) {
        await this.close(0);
        throw new Error(`entryPoints.${ep.name}: cannot listen on ${this.opts.config.entryPoints[ep.name].address}: ${errorMessage(err)}`);
      }
    }
    if (this.opts.bind?.udp !== false) await this.udp.listen().catch(async (err: unknown) => {
      await this.close(0);
      throw err;
    });
    if (listening) {
      try {
        listening();
      } catch (err) {
        await this.close(0);
        throw err;
      }
    }
    for (const p of this.opts.providers) {
      try {
        await p.start((snap) => this.push(snap), this.opts.log.child({ provider: p.name }));
      } catch (err) {
        this.opts.log.error('provider failed to start; the others keep running', { provider: p.name, error: errorMessage(err) });
      }
    }
    // What the providers had at start is in force once start resolves.
    this.flush();
  }

  /** The TLS-ending servers, by entrypoint name (TLS attaches its default-certificate follower to them). */
  secureServers(): Map<string, NonNullable<EntryPointServer['secure']>> {
    return new Map(this.entryPoints.flatMap((e) => (e.secure ? [[e.name, e.secure] as const] : [])));
  }

  /** An entrypoint's listening socket (tests count its connections). */
  listener(entryPoint: string): EntryPointServer['listener'] | undefined {
    return this.entryPoints.find((e) => e.name === entryPoint)?.listener;
  }

  /** Port an entrypoint actually listens on (useful with port 0). */
  port(entryPoint: string): number {
    return this.entryPoints.find((e) => e.name === entryPoint)?.port ?? this.udp.port(entryPoint) ?? 0;
  }

  /** The HTTP services' balancers by qualified name (workers apply the primary's health verdicts to them). */
  balancers(): ReadonlyMap<string, { lb: { readonly servers: readonly ServerState[] } }> {
    return this.cache.balancers;
  }

  /** An entrypoint's direct-path counters (server/direct-connection.ts), or undefined for an unknown name. */
  directStats(entryPoint: string): Readonly<EntryPointServer['directStats']> | undefined {
    return this.entryPoints.find((e) => e.name === entryPoint)?.directStats;
  }

  push(snapshot: ProviderSnapshot): void {
    if (this.closed) return;
    this.snapshots.set(snapshot.provider, snapshot);
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.recompile();
    }, this.opts.config.providers.providersThrottleDuration);
  }

  /** Applies pushed snapshots now, without waiting for the throttle (tests, CLI check). */
  flush(): void {
    if (!this.pending) return;
    clearTimeout(this.pending);
    this.pending = undefined;
    this.recompile();
  }

  async close(graceMs = this.graceMs()): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pending);
    this.heapTrim.close();
    await Promise.all(this.opts.providers.map((p) => p.close().catch(() => undefined)));
    await Promise.all(this.entryPoints.map((ep) => ep.close(graceMs)));
    await this.udp.close();
    for (const { lb } of this.cache.balancers.values()) lb.close(true);
    for (const { lb } of this.tcpCache.balancers.values()) lb.close();
    // Middlewares' own transports (forwardAuth's) too: no socket outlives the gateway.
    for (const { transports } of this.cache.middlewares.values()) for (const t of transports) t.release(true);
  }

  private graceMs(): number {
    return Math.max(0, ...Object.values(this.opts.config.entryPoints).map((e) => e.transport.lifeCycle.graceTimeOut));
  }

  private recompile(): void {
    this.reloads.total++;
    this.reloads.lastAt = Date.now();
    try {
      this.current = compile(this.snapshots.values(), this.compileOptions, this.cache);
      this.current.tcp = compileTcp(this.snapshots.values(), this.current, { entryPoints: this.compileOptions.entryPoints, log: this.opts.log, onHealthChange: () => this.announce(), base: this.opts.config.tcpServersTransport }, this.tcpCache);
      this.current.udp = this.udp.compile(this.snapshots.values());
      this.reloads.lastSuccess = true;
      this.heapTrim.changed();
    } catch (err) {
      this.reloads.lastSuccess = false;
      this.opts.log.error('configuration compile failed; keeping the previous table', { error: errorMessage(err) });
      return;
    }
    for (const r of this.current.routers.values()) {
      if (r.errors.length) this.opts.log.warn('router disabled', { router: r.name, error: r.errors.join('; ') });
    }
    for (const r of this.current.tcp?.routers.values() ?? []) {
      if (r.errors.length) this.opts.log.warn('TCP router disabled', { router: r.name, error: r.errors.join('; ') });
    }
    this.announce();
  }

  private announce(): void {
    for (const l of this.listeners) {
      try {
        l(this.current, this.snapshots);
      } catch (err) {
        this.opts.log.error('table listener failed', { error: errorMessage(err) });
      }
    }
  }
}
