import type { ProviderSnapshot, TcpLoadBalancerConfig, TcpRouterConfig, TcpServersTransportConfig, TcpServiceConfig } from '../dynamic/model';
import { errorMessage } from '../errors';
import type { Logger } from '../log/logger';
import { loadCa, loadClientCertificate } from '../proxy/transport';
import type { RoutingTable } from '../routing/table';
import { qualify, statusOf } from '../routing/runtime';
import { SmoothWeightedRoundRobin } from '../balancer/wrr';
import { compileTcpRule, type CompiledTcpRule } from '../rules/tcp-compile';
import { TcpBalancer, ms } from './balancer';
import { refuse, type TcpHandler, type TcpMiddleware } from './conn';
import { TCP_TRANSPORT_DEFAULTS, type TcpTransportOptions } from './dialer';
import { buildTcpMiddleware } from './middlewares';
import type { TcpMiddlewareRuntime, TcpRouterRuntime, TcpServiceRuntime, TcpTlsMode } from './runtime';
import { TcpTable, type HttpsClaims } from './tcp-table';

export interface TcpCompileOptions {
  /** As for HTTP routers: which entrypoints exist, can end TLS, and take routers that name none. */
  entryPoints: Record<string, { tls: boolean; endsTls: boolean; asDefault: boolean }>;
  log: Logger;
  onHealthChange: () => void;
  /** The static `tcpServersTransport`: the transport of services that name none. */
  base?: TcpServersTransportConfig;
}

/** Balancers (their ejections and health) and middlewares (inFlightConn's counts) kept while their configuration is unchanged. */
export interface TcpCompileCache {
  balancers: Map<string, { key: string; lb: TcpBalancer }>;
  middlewares: Map<string, { key: string; mw: TcpMiddleware }>;
}

export const newTcpCompileCache = (): TcpCompileCache => ({ balancers: new Map(), middlewares: new Map() });

type Raw<C> = { provider: string; bare: string; config: C; errors: string[]; warnings: string[] };

function collect<C>(snaps: ProviderSnapshot[], kind: 'routers' | 'services' | 'middlewares'): Map<string, Raw<C>> {
  const out = new Map<string, Raw<C>>();
  for (const snap of snaps) {
    for (const [bare, config] of Object.entries(snap.config.tcp?.[kind] ?? {})) {
      const key = `tcp.${kind}.${bare}`;
      out.set(`${bare}@${snap.provider}`, { provider: snap.provider, bare, config: config as C, errors: [...(snap.errors?.[key] ?? [])], warnings: [...(snap.warnings?.[key] ?? [])] });
    }
  }
  return out;
}

/** A TCP serversTransport's options, its files read; the load balancer's deprecated keys win over it, as in Traefik. */
function transportFor(lb: TcpLoadBalancerConfig, provider: string, snaps: ProviderSnapshot[], base: TcpServersTransportConfig | undefined): TcpTransportOptions {
  let t: TcpServersTransportConfig = base ?? {};
  let at = 'tcpServersTransport';
  if (lb.serversTransport) {
    const q = qualify(lb.serversTransport, provider);
    const i = q.lastIndexOf('@');
    const snap = snaps.find((s) => s.provider === q.slice(i + 1));
    const found = snap?.config.tcp?.serversTransports?.[q.slice(0, i)];
    if (!found) throw new Error(`serversTransport ${q} does not exist`);
    const invalid = snap?.errors?.[`tcp.serversTransports.${q.slice(0, i)}`];
    if (invalid?.length) throw new Error(`serversTransport ${q} is invalid: ${invalid.join('; ')}`);
    t = found;
    at = `tcp.serversTransports.${q.slice(0, i)}`;
  }
  const d = TCP_TRANSPORT_DEFAULTS;
  return {
    dialTimeoutMs: ms(t.dialTimeout, d.dialTimeoutMs, `${at}.dialTimeout`),
    keepAliveMs: Math.max(0, ms(t.dialKeepAlive, d.keepAliveMs, `${at}.dialKeepAlive`)),
    terminationDelayMs: lb.terminationDelay ?? ms(t.terminationDelay, d.terminationDelayMs, `${at}.terminationDelay`),
    proxyProtocol: lb.proxyProtocol ? (lb.proxyProtocol.version ?? 2) : t.proxyProtocol ? (t.proxyProtocol.version ?? 2) : undefined,
    tls: {
      serverName: t.tls?.serverName,
      insecureSkipVerify: t.tls?.insecureSkipVerify ?? false,
      rootCAs: t.tls?.rootCAs?.map((f, i) => loadCa(f, `${at}.tls.rootCAs[${i}]`)),
      certificates: t.tls?.certificates?.map((c, i) => loadClientCertificate(c.certFile, `${at}.tls.certificates[${i}].certFile`, c.keyFile, `${at}.tls.certificates[${i}].keyFile`)),
      peerCertURI: t.tls?.peerCertURI,
    },
  };
}

function weighted(children: { handler: TcpHandler; weight: number }[]): TcpHandler {
  const wrr = new SmoothWeightedRoundRobin(children.map((c) => ({ item: c.handler, weight: c.weight })));
  return (conn) => {
    const next = wrr.next(() => true);
    if (next) next(conn);
    else refuse(conn, 'weighted service has no service with a weight above 0');
  };
}

/**
 * Compiles the `tcp` sections of every provider's snapshot into a
 * TcpTable, once per change. As for HTTP, every fault is an error on its
 * object and disables only it and the routers that use it. `http` is the
 * HTTP table just compiled: its TLS routers' hosts decide, as in Traefik,
 * which SNI names HTTPS keeps.
 */
export function compileTcp(snapshots: Iterable<ProviderSnapshot>, http: RoutingTable, opts: TcpCompileOptions, cache: TcpCompileCache): TcpTable {
  const snaps = [...snapshots];
  const nextBalancers = new Map<string, { key: string; lb: TcpBalancer }>();
  const nextMiddlewares = new Map<string, { key: string; mw: TcpMiddleware }>();
  const services = new Map<string, TcpServiceRuntime>();
  const rawServices = collect<TcpServiceConfig>(snaps, 'services');

  const buildService = (name: string, stack: string[]): TcpServiceRuntime | undefined => {
    const done = services.get(name);
    if (done) return done;
    const raw = rawServices.get(name);
    if (!raw) return undefined;
    const { config, provider } = raw;
    const errors = [...raw.errors];
    const warnings = [...raw.warnings];
    let handler: TcpHandler | undefined;
    let serverStatus = (): Record<string, 'UP' | 'DOWN'> => ({});
    if (!errors.length && config.loadBalancer) {
      const lbCfg = config.loadBalancer;
      if (lbCfg.servers.length === 0) warnings.push('no server: connections are closed until one is ready');
      try {
        const transport = transportFor(lbCfg, provider, snaps, opts.base);
        const key = JSON.stringify([lbCfg, transport]);
        const previous = cache.balancers.get(name);
        const lb = previous?.key === key ? previous.lb : new TcpBalancer(name, lbCfg, transport, opts.log, opts.onHealthChange);
        if (lb !== previous?.lb) lb.start();
        nextBalancers.set(name, { key, lb });
        handler = lb.handler;
        serverStatus = () => lb.serverStatus();
      } catch (err) {
        errors.push(errorMessage(err));
      }
    } else if (!errors.length && config.weighted) {
      const children: { handler: TcpHandler; weight: number }[] = [];
      for (const child of config.weighted.services) {
        const q = qualify(child.name, provider);
        if (stack.includes(q) || q === name) {
          errors.push(`weighted service cycle: ${[...stack, name, q].join(' -> ')}`);
          break;
        }
        const svc = buildService(q, [...stack, name]);
        if (!svc) errors.push(`service ${q} does not exist`);
        else if (!svc.handler) errors.push(`service ${q} is disabled${svc.errors.length ? `: ${svc.errors.join('; ')}` : ''}`);
        else children.push({ handler: svc.handler, weight: child.weight ?? 1 });
      }
      if (!errors.length) handler = weighted(children);
    }
    const runtime: TcpServiceRuntime = {
      name, provider, config, handler: errors.length ? undefined : handler, status: statusOf(errors, warnings), errors, warnings, usedBy: [], serverStatus: () => serverStatus(),
    };
    services.set(name, runtime);
    return runtime;
  };
  for (const name of rawServices.keys()) buildService(name, []);

  const middlewares = new Map<string, TcpMiddlewareRuntime>();
  for (const [name, raw] of collect<Record<string, unknown>>(snaps, 'middlewares')) {
    const errors = [...raw.errors];
    const warnings = [...raw.warnings];
    const built = errors.length ? undefined : buildTcpMiddleware(raw.config, `tcp.middlewares.${raw.bare}`);
    if (built) {
      errors.push(...built.errors);
      warnings.push(...built.warnings);
    }
    let mw = errors.length ? undefined : built?.middleware;
    if (mw) {
      const key = JSON.stringify(raw.config);
      const previous = cache.middlewares.get(name);
      if (previous?.key === key) mw = previous.mw;
      nextMiddlewares.set(name, { key, mw });
    }
    middlewares.set(name, {
      name, provider: raw.provider, config: raw.config, type: built?.type ?? Object.keys(raw.config)[0] ?? '', middleware: mw, status: statusOf(errors, warnings), errors, warnings, usedBy: [],
    });
  }

  const routers = new Map<string, TcpRouterRuntime>();
  const defaults = Object.entries(opts.entryPoints).filter(([, e]) => e.asDefault).map(([n]) => n);
  for (const [name, raw] of collect<TcpRouterConfig>(snaps, 'routers')) {
    const router = buildRouter(name, raw, defaults, opts, services, middlewares);
    routers.set(name, router);
    if (router.service) services.get(router.service)?.usedBy.push(name);
    for (const m of router.middlewares) middlewares.get(m)?.usedBy.push(name);
  }
  conflicts(routers);

  for (const [name, { lb }] of cache.balancers) if (nextBalancers.get(name)?.lb !== lb) lb.close();
  cache.balancers = nextBalancers;
  cache.middlewares = nextMiddlewares;
  return new TcpTable(routers, services, middlewares, httpsClaims(http, opts));
}

function buildRouter(
  name: string, raw: Raw<TcpRouterConfig>, defaults: string[], opts: TcpCompileOptions,
  services: Map<string, TcpServiceRuntime>, middlewares: Map<string, TcpMiddlewareRuntime>,
): TcpRouterRuntime {
  const { config, provider } = raw;
  const errors = [...raw.errors];
  const warnings = [...raw.warnings];
  const entryPoints = config.entryPoints?.length ? config.entryPoints : defaults;
  for (const ep of entryPoints) if (!opts.entryPoints[ep]) errors.push(`entryPoint ${JSON.stringify(ep)} does not exist`);
  const tls: TcpTlsMode = config.tls === undefined ? 'none' : config.tls.passthrough ? 'passthrough' : 'terminate';
  let rule: CompiledTcpRule | undefined;
  if (config.rule === '' && !raw.errors.length) errors.push('rule: a TCP router needs a rule (HostSNI(`*`) takes every connection)');
  else if (config.rule !== '') {
    try {
      const c = compileTcpRule(config.rule, config.ruleSyntax ?? 'auto');
      rule = c.rule;
      warnings.push(...c.warnings);
    } catch (err) {
      const e = `rule: ${errorMessage(err)}`;
      if (!errors.some((said) => said.endsWith(errorMessage(err)))) errors.push(e);
    }
  }
  const named = rule?.sni.filter((n) => n !== '*') ?? [];
  if (tls === 'none' && named.length) {
    errors.push(`rule: HostSNI(${named.map((n) => `\`${n}\``).join(', ')}) needs tls on the router: a server name is only sent in a TLS ClientHello (use HostSNI(\`*\`) for plaintext)`);
  }
  if (tls === 'terminate') {
    const unable = entryPoints.filter((ep) => opts.entryPoints[ep] && !opts.entryPoints[ep].endsTls);
    const text = `tls: entrypoint(s) ${unable.join(', ')} cannot end TLS, so this router is not served there`;
    if (unable.length && unable.length === entryPoints.length) errors.push(text);
    else if (unable.length) warnings.push(text);
  }
  if (config.tls?.options !== undefined && config.tls.options !== 'default') warnings.push(`tls.options ${JSON.stringify(config.tls.options)}: only the default TLS options apply to TCP routers`);
  const mwNames = (config.middlewares ?? []).map((m) => qualify(m, provider));
  const chain: TcpMiddleware[] = [];
  for (const m of mwNames) {
    const rt = middlewares.get(m);
    if (!rt) errors.push(`middleware ${m} does not exist`);
    else if (!rt.middleware) errors.push(`middleware ${m} is disabled${rt.errors.length ? `: ${rt.errors.join('; ')}` : ''}`);
    else chain.push(rt.middleware);
  }
  let service: string | undefined;
  let target: TcpHandler | undefined;
  if (!config.service) errors.push("no service: set the router's service");
  else {
    service = qualify(config.service, provider);
    const svc = services.get(service);
    if (!svc) errors.push(`service ${service} does not exist`);
    else if (!svc.handler) errors.push(`service ${service} is disabled${svc.errors.length ? `: ${svc.errors.join('; ')}` : ''}`);
    else target = svc.handler;
  }
  const handler = errors.length || !target ? undefined : chain.reduceRight<TcpHandler>((next, mw) => mw(next), target);
  return {
    name, provider, config, entryPoints, tls, priority: config.priority || (rule?.defaultPriority ?? 0), rule, middlewares: mwNames, service, handler,
    status: statusOf(errors, warnings), errors, warnings,
  };
}

/**
 * Two usable routers that would take the same connections on an entrypoint
 * (same rule, priority and kind of TLS) leave the choice to their names:
 * both are refused instead, saying which other router is at fault.
 */
function conflicts(routers: Map<string, TcpRouterRuntime>): void {
  const seen = new Map<string, string[]>();
  for (const r of routers.values()) {
    if (!r.handler || !r.rule) continue;
    for (const ep of r.entryPoints) {
      const key = JSON.stringify([ep, r.tls === 'none', r.rule.source.replace(/\s+/g, ''), r.priority]);
      seen.set(key, [...(seen.get(key) ?? []), r.name]);
    }
  }
  const clash = new Map<string, Set<string>>();
  for (const names of seen.values()) {
    if (names.length < 2) continue;
    for (const n of names) for (const other of names) if (other !== n) (clash.get(n) ?? clash.set(n, new Set()).get(n)!).add(other);
  }
  for (const [name, others] of clash) {
    const r = routers.get(name)!;
    const errors = [...r.errors, `rule: the same rule and priority as router(s) ${[...others].sort().join(', ')} on a shared entrypoint; set a priority to choose`];
    routers.set(name, { ...r, handler: undefined, errors, status: statusOf(errors, r.warnings) });
  }
}

/** Per entrypoint, the hosts its usable TLS HTTP routers are bound to (see TcpTable.matchTls). */
function httpsClaims(http: RoutingTable, opts: TcpCompileOptions): Record<string, HttpsClaims> {
  const out: Record<string, HttpsClaims> = {};
  for (const [ep, e] of Object.entries(opts.entryPoints)) {
    const claims: HttpsClaims = { bindings: [], unbound: false };
    if (e.endsTls) {
      for (const r of http.routers.values()) {
        if (!r.handler || !r.rule || !r.entryPoints.includes(ep) || !(r.tls || e.tls)) continue;
        if (r.rule.hostBinding) claims.bindings.push(r.rule.hostBinding);
        else claims.unbound = true;
      }
    }
    out[ep] = claims;
  }
  return out;
}
