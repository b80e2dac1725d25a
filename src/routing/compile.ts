import type { ProviderSnapshot, ServiceConfig } from '../dynamic/model';
import { Dispatch, Handler, Middleware, toDispatch, toHandler } from '../proxy/exchange';
import type { MiddlewareType } from '../../middlewares/types';
import { compileRule } from '../rules/compile';
import type { CompiledRule, RuleSyntax } from '../rules/types';
import { LoadBalancer } from '../balancer/load-balancer';
import { WeightedService } from '../balancer/weighted';
import { Transport, TransportOptions, loadCa, loadClientCertificate } from '../proxy/transport';
import { duration } from '../config/decode';
import { errorMessage } from '../errors';
import type { Logger } from '../log/logger';
import { RouterRuntime, ServiceRuntime, MiddlewareRuntime, statusOf, qualify } from './runtime';
import { RoutingTable } from './table';

export interface CompileOptions {
  /**
   * Entrypoint names: which make every router TLS (`http.tls`), which can end TLS at all (Portier has a TLS
   * manager), which routers attach to by default.
   */
  entryPoints: Record<string, { tls: boolean; endsTls: boolean; asDefault: boolean; middlewares: string[] }>;
  defaultRuleSyntax: 'v2' | 'v3' | 'auto';
  /** The static serversTransport: the transport of services that name none. */
  transport: TransportOptions;
  middlewareTypes: ReadonlyMap<string, MiddlewareType<unknown>>;
  log: Logger;
  /** Called when a health check changes a server's state, to refresh views (API, metrics). */
  onHealthChange: () => void;
  /** Internal services (`api@internal`, `dashboard@internal`, `ping@internal`). */
  internalServices?: Record<string, Handler>;
}

/** Parts kept across recompiles while their configuration is unchanged: health, keep-alive sockets, rate-limit buckets. */
export interface CompileCache {
  balancers: Map<string, { key: string; lb: LoadBalancer }>;
  /** With the transports a middleware made (forwardAuth's), released when it is replaced. */
  middlewares: Map<string, { key: string; mw: Middleware; transports: Transport[] }>;
  /** By qualified serversTransport name ('' for the static one). */
  transports: Map<string, { key: string; transport: Transport }>;
  rules: Map<string, { rule: CompiledRule; warnings: string[] } | { error: string }>;
}

export const newCompileCache = (): CompileCache => ({ balancers: new Map(), middlewares: new Map(), transports: new Map(), rules: new Map() });

const STATEFUL_FREE = new Set(['chain', 'errors']);

/**
 * Compiles merged provider snapshots into an immutable routing table, once
 * per change. Every fault attaches to the object it is in (a bad rule to its
 * router, a missing server to its service) and disables only it and the
 * routers that depend on it.
 */
export function compile(snapshots: Iterable<ProviderSnapshot>, opts: CompileOptions, cache: CompileCache): RoutingTable {
  const services = new Map<string, ServiceRuntime>();
  const middlewares = new Map<string, MiddlewareRuntime>();
  const routers = new Map<string, RouterRuntime>();
  const nextBalancers = new Map<string, { key: string; lb: LoadBalancer }>();
  const nextMiddlewares = new Map<string, { key: string; mw: Middleware; transports: Transport[] }>();
  const serviceUsers = new Map<string, string[]>();
  const middlewareUsers = new Map<string, string[]>();
  const list = [...snapshots];
  // Resolved once per compile: services sharing a serversTransport share its files, read once, and its transport.
  const nextTransports = new Map<string, { key: string; transport: Transport }>();
  const transportOf = (ref: string | undefined, provider: string): { key: string; transport: Transport } => {
    const q = ref ? qualify(ref, provider) : '';
    let entry = nextTransports.get(q);
    if (!entry) {
      const options = transportFor(ref, provider, list, opts.transport);
      const key = JSON.stringify(options);
      const previous = cache.transports.get(q);
      entry = { key, transport: previous?.key === key && !previous.transport.closed ? previous.transport : new Transport(options) };
      nextTransports.set(q, entry);
    }
    return entry;
  };

  const rawServices = new Map<string, { provider: string; config: ServiceConfig; errors: string[]; warnings: string[] }>();
  for (const snap of list) {
    for (const [name, config] of Object.entries(snap.config.http?.services ?? {})) {
      rawServices.set(`${name}@${snap.provider}`, {
        provider: snap.provider,
        config,
        errors: [...(snap.errors?.[`services.${name}`] ?? [])],
        warnings: [...(snap.warnings?.[`services.${name}`] ?? [])],
      });
    }
  }

  const buildService = (name: string, stack: string[]): ServiceRuntime | undefined => {
    const done = services.get(name);
    if (done) return done;
    const raw = rawServices.get(name);
    if (!raw) return undefined;
    const { provider, config, errors, warnings } = raw;
    let dispatch: Dispatch | undefined;
    let serverStatus = (): Record<string, 'UP' | 'DOWN'> => ({});
    if (!errors.length && config.loadBalancer) {
      const lbCfg = config.loadBalancer;
      if (lbCfg.servers.length === 0) warnings.push('no server: requests get 503 until one is ready');
      try {
        const transport = transportOf(lbCfg.serversTransport, provider);
        // The same transport key means the same transport: the previous balancer still holds it.
        const key = JSON.stringify([lbCfg, transport.key]);
        const previous = cache.balancers.get(name);
        const lb = previous?.key === key ? previous.lb : new LoadBalancer(name, lbCfg, transport.transport, opts.log, opts.onHealthChange, previous?.lb);
        if (lb !== previous?.lb) lb.start();
        nextBalancers.set(name, { key, lb });
        dispatch = lb.serve;
        serverStatus = () => lb.serverStatus();
      } catch (err) {
        errors.push(errorMessage(err));
      }
    } else if (!errors.length && config.weighted) {
      if (stack.includes(name)) errors.push(`weighted service cycle: ${[...stack, name].join(' -> ')}`);
      const children: { name: string; weight: number; handler: Handler }[] = [];
      for (const child of config.weighted.services) {
        const q = qualify(child.name, provider);
        const svc = errors.length ? undefined : buildService(q, [...stack, name]);
        if (!svc) errors.push(`service ${q} does not exist`);
        else if (!svc.handler) errors.push(`service ${q} is disabled`);
        else children.push({ name: q, weight: child.weight ?? 1, handler: svc.handler });
      }
      if (!errors.length) dispatch = toDispatch(new WeightedService(name, children, config.weighted.sticky?.cookie).handler);
    }
    const usable = errors.length ? undefined : dispatch;
    const runtime: ServiceRuntime = {
      name, provider, config, dispatch: usable, handler: usable && toHandler(usable), balanced: config.loadBalancer !== undefined,
      status: statusOf(errors, warnings), errors, warnings, usedBy: [], serverStatus: () => serverStatus(),
    };
    services.set(name, runtime);
    return runtime;
  };
  for (const name of rawServices.keys()) buildService(name, []);

  const rawMiddlewares = new Map<string, { provider: string; config: Record<string, unknown>; errors: string[] }>();
  for (const snap of list) {
    for (const [name, config] of Object.entries(snap.config.http?.middlewares ?? {})) {
      rawMiddlewares.set(`${name}@${snap.provider}`, { provider: snap.provider, config, errors: [...(snap.errors?.[`middlewares.${name}`] ?? [])] });
    }
  }
  const buildMiddleware = (name: string, stack: string[]): MiddlewareRuntime | undefined => {
    const done = middlewares.get(name);
    if (done) return done;
    const raw = rawMiddlewares.get(name);
    if (!raw) return undefined;
    const { provider, config, errors } = raw;
    const [typeKey] = Object.keys(config);
    const type = opts.middlewareTypes.get(typeKey.toLowerCase());
    let mw: Middleware | undefined;
    if (stack.includes(name)) errors.push(`middleware cycle: ${[...stack, name].join(' -> ')}`);
    else if (!type) errors.push(`unknown middleware type ${JSON.stringify(typeKey)}`);
    else if (!errors.length) {
      const made: Transport[] = [];
      try {
        const options = type.options(config[typeKey], `http.middlewares.${name.slice(0, name.lastIndexOf('@'))}.${type.type}`);
        const key = JSON.stringify(config);
        const previous = cache.middlewares.get(name);
        const reusable = !STATEFUL_FREE.has(type.type.toLowerCase()) && previous?.key === key;
        mw = reusable ? previous.mw : type.create(options, {
          service: (ref) => buildService(qualify(ref, provider), [])?.handler,
          middleware: (ref) => {
            const dep = buildMiddleware(qualify(ref, provider), [...stack, name]);
            if (!dep?.middleware) throw new Error(`middleware ${qualify(ref, provider)} ${dep ? `is disabled: ${dep.errors.join('; ')}` : 'does not exist'}`);
            return dep.middleware;
          },
          log: opts.log.child({ middleware: name }),
          transport: (options) => {
            const t = new Transport(options).retain();
            made.push(t);
            return t;
          },
        });
        if (!STATEFUL_FREE.has(type.type.toLowerCase())) nextMiddlewares.set(name, { key, mw, transports: reusable ? previous.transports : made });
      } catch (err) {
        // Nothing went through them yet.
        for (const t of made) t.release(true);
        errors.push(errorMessage(err));
      }
    }
    const runtime: MiddlewareRuntime = {
      name, provider, config, type: type?.type ?? typeKey, middleware: errors.length ? undefined : mw,
      status: statusOf(errors, []), errors, usedBy: [],
    };
    middlewares.set(name, runtime);
    return runtime;
  };
  for (const name of rawMiddlewares.keys()) buildMiddleware(name, []);

  const defaultEntryPoints = Object.entries(opts.entryPoints).filter(([, e]) => e.asDefault).map(([n]) => n);
  for (const snap of list) {
    for (const [bare, config] of Object.entries(snap.config.http?.routers ?? {})) {
      const name = `${bare}@${snap.provider}`;
      const errors = [...(snap.errors?.[`routers.${bare}`] ?? [])];
      const warnings = [...(snap.warnings?.[`routers.${bare}`] ?? [])];
      const entryPoints = config.entryPoints?.length ? config.entryPoints : defaultEntryPoints;
      for (const ep of entryPoints) if (!opts.entryPoints[ep]) errors.push(`entryPoint ${JSON.stringify(ep)} does not exist`);
      if (config.tls !== undefined) tlsReach(entryPoints, opts.entryPoints, errors, warnings);
      const rule = compiledRule(config.rule, config.ruleSyntax ?? opts.defaultRuleSyntax, cache, errors, warnings);
      if (config.tls?.options !== undefined) checkTlsOptions(config.tls.options, snap.provider, list, errors, warnings);
      const epMiddlewares = entryPoints.flatMap((ep) => opts.entryPoints[ep]?.middlewares ?? []);
      const mwNames = [...new Set([...epMiddlewares, ...(config.middlewares ?? []).map((m) => qualify(m, snap.provider))])];
      const chain: Middleware[] = [];
      let plainChain = true;
      for (const m of mwNames) {
        (middlewareUsers.get(m) ?? middlewareUsers.set(m, []).get(m)!).push(name);
        const runtime = middlewares.get(m);
        if (!runtime) errors.push(`middleware ${m} does not exist`);
        else if (!runtime.middleware) errors.push(`middleware ${m} is disabled: ${runtime.errors.join('; ')}`);
        else {
          chain.push(runtime.middleware);
          plainChain &&= opts.middlewareTypes.get(runtime.type.toLowerCase())?.plain === true;
        }
      }
      let service: string | undefined;
      let target: Handler | undefined;
      let bareTarget: Dispatch | undefined;
      let balanced = false;
      if (!config.service) errors.push('no service: set the router\'s service');
      else {
        service = qualify(config.service, snap.provider);
        (serviceUsers.get(service) ?? serviceUsers.set(service, []).get(service)!).push(name);
        const internal = opts.internalServices?.[service];
        const svc = services.get(service);
        if (internal) target = internal;
        else if (!svc) errors.push(`service ${service} does not exist`);
        else if (!svc.handler || !svc.dispatch) errors.push(`service ${service} is disabled: ${svc.errors.join('; ')}`);
        else {
          target = svc.handler;
          bareTarget = svc.dispatch;
          balanced = svc.balanced;
        }
      }
      const handler = errors.length || !target ? undefined : chain.reduceRight<Handler>((next, mw) => mw(next), target);
      // No middleware: the service's own callback form, without a promise per request.
      const dispatch = handler && (chain.length === 0 && bareTarget ? bareTarget : toDispatch(handler));
      routers.set(name, {
        name, provider: snap.provider, config, entryPoints,
        tls: config.tls !== undefined,
        priority: config.priority || (rule?.defaultPriority ?? 0),
        rule, middlewares: mwNames, service, handler, dispatch, plain: dispatch !== undefined && plainChain && balanced,
        status: statusOf(errors, warnings), errors, warnings,
      });
    }
  }
  for (const [name, users] of serviceUsers) services.get(name)?.usedBy.push(...users);
  for (const [name, users] of middlewareUsers) middlewares.get(name)?.usedBy.push(...users);

  for (const [name, { lb }] of cache.balancers) if (nextBalancers.get(name)?.lb !== lb) lb.close();
  for (const [name, { mw, transports }] of cache.middlewares) if (nextMiddlewares.get(name)?.mw !== mw) for (const t of transports) t.release(false);
  cache.balancers = nextBalancers;
  cache.middlewares = nextMiddlewares;
  cache.transports = nextTransports;
  return new RoutingTable(routers, services, middlewares, Object.fromEntries(Object.entries(opts.entryPoints).map(([n, e]) => [n, e.tls])));
}

/** A TLS router on an entrypoint that cannot end TLS is never served there: said on the router, an error when it is nowhere. */
function tlsReach(entryPoints: string[], all: CompileOptions['entryPoints'], errors: string[], warnings: string[]): void {
  const unable = entryPoints.filter((ep) => all[ep] && !all[ep].endsTls);
  if (unable.length === 0) return;
  const text = `tls: entrypoint(s) ${unable.join(', ')} cannot end TLS, so this router is not served there`;
  if (unable.length === entryPoints.length) errors.push(text);
  else warnings.push(text);
}

function compiledRule(source: string, syntax: RuleSyntax | 'auto', cache: CompileCache, errors: string[], warnings: string[]): CompiledRule | undefined {
  const key = `${syntax}\u0000${source}`;
  let hit = cache.rules.get(key);
  if (!hit) {
    try {
      hit = compileRule(source, { syntax });
    } catch (err) {
      hit = { error: `rule: ${errorMessage(err)}` };
    }
    cache.rules.set(key, hit);
  }
  if ('error' in hit) {
    errors.push(hit.error);
    return undefined;
  }
  warnings.push(...hit.warnings);
  return hit.rule;
}

/**
 * Every HTTPS listener applies `tls.options.default`, so a router naming
 * another set must not look as if it got it: an unknown set disables the
 * router (as Traefik refuses it), a known one is a warning.
 */
function checkTlsOptions(ref: string, provider: string, snaps: ProviderSnapshot[], errors: string[], warnings: string[]): void {
  const q = qualify(ref, provider);
  const at = q.lastIndexOf('@');
  const name = q.slice(0, at);
  if (name === 'default') return;
  const exists = snaps.some((s) => s.provider === q.slice(at + 1) && s.config.tls?.options?.[name] !== undefined);
  if (!exists) errors.push(`tls.options: unknown TLS options ${JSON.stringify(q)}`);
  else warnings.push(`tls.options ${JSON.stringify(ref)}: only the default TLS options apply; this router uses them`);
}

/** A serversTransport's options (the static one's without `ref`), its files read once per configuration change. */
function transportFor(ref: string | undefined, provider: string, snaps: ProviderSnapshot[], base: TransportOptions): TransportOptions {
  if (!ref) return base;
  const q = qualify(ref, provider);
  const at = q.lastIndexOf('@');
  const snap = snaps.find((s) => s.provider === q.slice(at + 1));
  const t = snap?.config.http?.serversTransports?.[q.slice(0, at)];
  if (!t) throw new Error(`serversTransport ${q} does not exist`);
  const ft = t.forwardingTimeouts ?? {};
  const path = `serversTransports.${q.slice(0, at)}.forwardingTimeouts`;
  return {
    ...base,
    serverName: t.serverName ?? base.serverName,
    rootCAs: t.rootCAs ? t.rootCAs.map((file, i) => loadCa(file, `serversTransports.${q.slice(0, at)}.rootCAs[${i}]`)) : base.rootCAs,
    certificates: t.certificates?.map((c, i) => {
      const field = `serversTransports.${q.slice(0, at)}.certificates[${i}]`;
      return loadClientCertificate(c.certFile, `${field}.certFile`, c.keyFile, `${field}.keyFile`);
    }) ?? base.certificates,
    insecureSkipVerify: t.insecureSkipVerify ?? base.insecureSkipVerify,
    maxIdleConnsPerHost: t.maxIdleConnsPerHost ?? base.maxIdleConnsPerHost,
    dialTimeoutMs: ft.dialTimeout ? duration(ft.dialTimeout, `${path}.dialTimeout`) : base.dialTimeoutMs,
    responseHeaderTimeoutMs: ft.responseHeaderTimeout ? duration(ft.responseHeaderTimeout, `${path}.responseHeaderTimeout`) : base.responseHeaderTimeoutMs,
    idleConnTimeoutMs: ft.idleConnTimeout ? duration(ft.idleConnTimeout, `${path}.idleConnTimeout`) : base.idleConnTimeoutMs,
  };
}
