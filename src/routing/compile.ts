import type { LoadBalancerConfig, MiddlewareConfig, ProviderSnapshot, RouterConfig, ServiceConfig } from '../dynamic/model';
import { Dispatch, Handler, Middleware, composeRouter, toDispatch } from '../proxy/exchange';
import type { MiddlewareType } from '../../middlewares/types';
import type { CompiledRule } from '../rules/types';
import { LoadBalancer } from '../balancer/load-balancer';
import { WeightedService } from '../balancer/weighted';
import { Transport, TransportOptions } from '../proxy/transport';
import { ConfigErrors, decodeAll, errorsOf } from '../config/decode';
import { errorMessage, PortierError } from '../errors';
import type { Logger } from '../log/logger';
import { RouterRuntime, ServiceRuntime, MiddlewareRuntime, statusOf, qualify } from './runtime';
import { RoutingTable } from './table';
import { deltaOf } from './compile-delta';
import { Ledger } from './compile-ledger';
import { copyMap } from './map-copy';
import {
  LastGood, Definition, providerSaid, handlerOf, disabled, missing, refused, withLastGood, sameDefinition, definition, tlsReach, ruleKey, reusable, compiledRule, checkTlsOptions, transportFor, packed,
} from './compile-parts';

const STATEFUL_FREE = new Set(['chain', 'errors']);
/** A service's server status: one function for every service, reading the balancer the runtime holds (none: weighted, disabled). */
function serverStatus(this: { balancer?: LoadBalancer }): Record<string, 'UP' | 'DOWN'> {
  return this.balancer?.serverStatus() ?? {};
}

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
  /** The TLS manager's errors for a router's `tls` (a resolver in error or unknown, a wildcard without DNS-01). */
  routerTls?: (tls: NonNullable<RouterConfig['tls']>) => string[];
}

/** Parts kept across recompiles while their configuration is unchanged: health, keep-alive sockets, rate-limit buckets. */
export interface CompileCache {
  balancers: Map<string, KeptBalancer>;
  /** With the transports a middleware made (forwardAuth's), released when it is replaced. */
  middlewares: Map<string, { key: string; mw: Middleware; transports: Transport[] }>;
  /** By qualified serversTransport name ('' for the static one). */
  transports: Map<string, { key: string; transport: Transport }>;
  /** A rule compiled without warnings as itself (10,000 rules, no wrapper each). */
  rules: Map<string, CompiledRule | { rule: CompiledRule; warnings: string[] } | { error: string }>;
  /** Routers built without error, kept while their definition and what they use are the same objects (see reusedRouter). */
  routers: Map<string, RouterBuild>;
  /** The last definition of each object that compiled without error, by qualified name (see LastGood). */
  lastGood: LastGood;
  /** The last table and what it was compiled from, for a change that touches only routers and services (compile-delta.ts). */
  base?: Base;
}

/** A balancer and what it was made from: the same definition and transport keep it (its health, its sockets). */
interface KeptBalancer {
  config: LoadBalancerConfig;
  transportKey: string;
  lb: LoadBalancer;
}

interface Base {
  table: RoutingTable;
  snapshots: ReadonlyMap<string, ProviderSnapshot>;
  ledger: Ledger;
}


export const newCompileCache = (): CompileCache => ({
  balancers: new Map(), middlewares: new Map(), transports: new Map(), rules: new Map(), routers: new Map(), lastGood: { routers: new Map(), services: new Map(), middlewares: new Map() },
});

/** A router as last built, and what it was built from: the same inputs give the same router object. */
export interface RouterBuild {
  /** Its provider's errors and warnings about it. */
  said: string;
  runtime: RouterRuntime;
  /** The handlers of its service and middlewares it was composed of, by identity: its service's alone when it has no middleware. */
  uses: unknown;
}


/**
 * Compiles merged provider snapshots into an immutable routing table, once
 * per change. Every fault attaches to the object it is in (a bad rule to its
 * router, a missing server to its service) and disables only it and the
 * routers that depend on it.
 */
export function compile(snapshots: Iterable<ProviderSnapshot>, opts: CompileOptions, cache: CompileCache): RoutingTable {
  const base = cache.base;
  // The ledger of a delta is updated in place: a compile that throws leaves none behind.
  cache.base = undefined;
  const undo: (() => void)[] = [];
  try {
    return build([...snapshots], opts, cache, base, undo);
  } catch (err) {
    for (const u of undo) u();
    throw err;
  }
}

function build(list: ProviderSnapshot[], opts: CompileOptions, cache: CompileCache, base: Base | undefined, undo: (() => void)[]): RoutingTable {
  const delta = base && deltaOf(base.snapshots, list, base.ledger.pinned);
  const from = delta && base;
  const ledger = from ? from.ledger : new Ledger(opts.defaultRuleSyntax);
  const dirtyServices = delta?.services ?? new Set<string>();
  const dirtyRouters = new Set(delta?.routers);
  if (from) {
    for (const s of dirtyServices) for (const r of ledger.dependentsOf(s)) dirtyRouters.add(r);
    for (const r of ledger.tlsRouters) dirtyRouters.add(r);
  }
  // A delta starts from the previous table and its caches, without the objects it rebuilds.
  const without = <V>(map: ReadonlyMap<string, V> | undefined, names: Set<string>): Map<string, V> => {
    const copy = copyMap(map);
    for (const n of names) copy.delete(n);
    return copy;
  };
  // A delta changes the compiler's own caches in place at the names it rebuilds (a copy of each is 10,000
  // entries a change); their previous entries are what it reads as previous, and what `undo` puts back.
  const cached = <V>(map: Map<string, V>, names: Set<string>): { next: Map<string, V>; previous: ReadonlyMap<string, V> } => {
    if (!from) return { next: new Map(), previous: map };
    const previous = new Map<string, V>();
    for (const n of names) {
      const v = map.get(n);
      if (v !== undefined) previous.set(n, v);
      map.delete(n);
    }
    undo.push(() => {
      for (const n of names) {
        const v = previous.get(n);
        if (v === undefined) map.delete(n);
        else map.set(n, v);
      }
    });
    return { next: map, previous };
  };
  const services = without(from?.table.services, dirtyServices);
  const middlewares = new Map<string, MiddlewareRuntime>(from?.table.middlewares);
  const routers = without(from?.table.routers, dirtyRouters);
  const balancers = cached(cache.balancers, dirtyServices);
  const nextBalancers = balancers.next;
  const lastGoodRouters = cached(cache.lastGood.routers, dirtyRouters);
  const lastGoodServices = cached(cache.lastGood.services, dirtyServices);
  const builds = cached(cache.routers, dirtyRouters);
  const nextMiddlewares = from ? cache.middlewares : new Map<string, { key: string; mw: Middleware; transports: Transport[] }>();
  const nextLastGood: LastGood = {
    routers: lastGoodRouters.next,
    services: lastGoodServices.next,
    middlewares: from ? cache.lastGood.middlewares : new Map(),
  };
  // Resolved once per compile: services sharing a serversTransport share its files, read once, and its transport.
  const nextTransports = new Map<string, { key: string; transport: Transport; refused?: string[] }>(from && cache.transports);
  const transportOf = (ref: string | undefined, provider: string): { key: string; transport: Transport; refused?: string[] } => {
    const q = ref ? qualify(ref, provider) : '';
    let entry = nextTransports.get(q);
    if (!entry) {
      const previous = cache.transports.get(q);
      let options: TransportOptions;
      try {
        options = transportFor(ref, provider, list, opts.transport);
      } catch (err) {
        // As for objects: a serversTransport whose new definition is broken keeps its last good transport.
        if (!previous || previous.transport.closed) throw err;
        entry = { ...previous, refused: refused([errorMessage(err)]) };
        nextTransports.set(q, entry);
        return entry;
      }
      const key = JSON.stringify(options);
      entry = { key, transport: previous?.key === key && !previous.transport.closed ? previous.transport : new Transport(options) };
      nextTransports.set(q, entry);
    }
    return entry;
  };

  const byProvider = new Map(list.map((snap) => [snap.provider, snap]));
  // A Map: a name looked up as an object's key is interned first, which costs 10,000 times.
  const internalServices = new Map(Object.entries(opts.internalServices ?? {}));
  type RawService = { provider: string; next: Definition<ServiceConfig>; errors: string[] };
  const rawServices = new Map<string, RawService | undefined>();
  /** A service's definition, looked up when first needed: a delta needs a few of them. */
  const rawService = (name: string): RawService | undefined => {
    if (rawServices.has(name)) return rawServices.get(name);
    const at = name.lastIndexOf('@');
    const snap = byProvider.get(name.slice(at + 1));
    const bare = name.slice(0, at);
    const all = snap?.config.http?.services;
    const raw = snap && all && Object.hasOwn(all, bare) ? rawOf(snap, bare, all[bare]) : undefined;
    rawServices.set(name, raw);
    return raw;
  };
  const rawOf = (snap: ProviderSnapshot, bare: string, config: ServiceConfig): RawService => ({
    provider: snap.provider, next: definition(config, providerSaid(snap, 'warnings', 'services', bare)), errors: providerSaid(snap, 'errors', 'services', bare) ?? [],
  });

  const buildService = (name: string, stack: string[]): ServiceRuntime | undefined => {
    const done = services.get(name);
    if (done) return done;
    const raw = rawService(name);
    if (!raw) return undefined;
    const { provider } = raw;
    const attempt = ({ config, warnings: said }: Definition<ServiceConfig>, providerErrors: string[]): ServiceRuntime => {
      const errors = [...providerErrors];
      const warnings = [...said];
      let dispatch: Dispatch | undefined;
      let balancer: LoadBalancer | undefined;
      if (!errors.length && config.loadBalancer) {
        const lbCfg = config.loadBalancer;
        if (lbCfg.servers.length === 0) warnings.push('no server: requests get 503 until one is ready');
        try {
          const transport = transportOf(lbCfg.serversTransport, provider);
          warnings.push(...(transport.refused ?? []));
          // The same transport key means the same transport: the previous balancer still holds it.
          const previous = balancers.previous.get(name);
          const same = previous?.transportKey === transport.key && sameDefinition(previous.config, lbCfg);
          const lb = same ? previous.lb : new LoadBalancer(name, lbCfg, transport.transport, opts.log, opts.onHealthChange, previous?.lb);
          if (lb !== previous?.lb) lb.start();
          nextBalancers.set(name, { config: lbCfg, transportKey: transport.key, lb });
          dispatch = lb.serve;
          balancer = lb;
        } catch (err) {
          errors.push(errorMessage(err));
        }
      } else if (!errors.length && config.weighted) {
        if (stack.includes(name)) errors.push(`weighted service cycle: ${[...stack, name].join(' -> ')}`);
        const children: { name: string; weight: number; handler: Handler }[] = [];
        for (const child of config.weighted.services) {
          const q = qualify(child.name, provider);
          ledger.pinned.add(q);
          const svc = errors.length ? undefined : buildService(q, [...stack, name]);
          if (!svc) errors.push(missing('service', q));
          else if (!svc.handler) errors.push(disabled(`service ${q}`, svc.errors));
          else children.push({ name: q, weight: child.weight ?? 1, handler: svc.handler });
        }
        if (!errors.length) dispatch = toDispatch(new WeightedService(name, children, config.weighted.sticky?.cookie).handler);
      }
      const usable = errors.length ? undefined : dispatch;
      return {
        name, provider, config, dispatch: usable, handler: usable && handlerOf(usable), balanced: config.loadBalancer !== undefined,
        status: statusOf(errors, warnings), errors: packed(errors), warnings: packed(warnings), usedBy: packed([]), balancer, serverStatus,
      };
    };
    const runtime = withLastGood(name, raw.next, lastGoodServices.previous, nextLastGood.services, (d) => attempt(d, d === raw.next ? raw.errors : []));
    services.set(name, runtime);
    return runtime;
  };
  if (from) for (const name of dirtyServices) buildService(name, []);
  else {
    // Every service is built: its definition is at hand, not looked up again by name.
    for (const snap of list) {
      const all = snap.config.http?.services ?? {};
      for (const bare of Object.keys(all)) rawServices.set(`${bare}@${snap.provider}`, rawOf(snap, bare, all[bare]));
    }
    rawServices.forEach((_, name) => buildService(name, []));
  }

  const rawMiddlewares = new Map<string, { provider: string; next: Definition<MiddlewareConfig>; errors: string[] }>();
  // A delta changes no middleware (compile-delta.ts): the previous ones stand.
  for (const snap of from ? [] : list) {
    for (const [name, config] of Object.entries(snap.config.http?.middlewares ?? {})) {
      rawMiddlewares.set(`${name}@${snap.provider}`, {
        provider: snap.provider,
        next: definition(config, snap.warnings?.[`middlewares.${name}`]),
        errors: snap.errors?.[`middlewares.${name}`] ?? [],
      });
    }
  }
  const buildMiddleware = (name: string, stack: string[]): MiddlewareRuntime | undefined => {
    const done = middlewares.get(name);
    if (done) return done;
    const raw = rawMiddlewares.get(name);
    if (!raw) return undefined;
    const { provider } = raw;
    const attempt = ({ config, warnings: said }: Definition<MiddlewareConfig>, providerErrors: string[]): MiddlewareRuntime => {
      const errors = [...providerErrors];
      const warnings = [...said];
      const [typeKey] = Object.keys(config);
      const type = typeKey === undefined ? undefined : opts.middlewareTypes.get(typeKey.toLowerCase());
      let mw: Middleware | undefined;
      if (stack.includes(name)) errors.push(`middleware cycle: ${[...stack, name].join(' -> ')}`);
      else if (errors.length) {
        // Its provider already said what is wrong with it.
      } else if (!type) errors.push(`unknown middleware type ${JSON.stringify(typeKey)}`);
      else {
        const made: Transport[] = [];
        try {
          const decoded = decodeAll(type.options, config[typeKey], `http.middlewares.${name.slice(0, name.lastIndexOf('@'))}.${type.type}`);
          warnings.push(...decoded.warnings.map((w) => w.message));
          if (decoded.errors.length) throw new ConfigErrors(decoded.errors);
          const key = JSON.stringify(config);
          const previous = cache.middlewares.get(name);
          const reusable = !STATEFUL_FREE.has(type.type.toLowerCase()) && previous?.key === key;
          mw = reusable ? previous.mw : type.create(decoded.value, {
            service: (ref) => {
              ledger.pinned.add(qualify(ref, provider));
              return buildService(qualify(ref, provider), [])?.handler;
            },
            middleware: (ref) => {
              const dep = buildMiddleware(qualify(ref, provider), [...stack, name]);
              if (!dep?.middleware) throw new Error(dep ? disabled(`middleware ${dep.name}`, dep.errors) : missing('middleware', qualify(ref, provider)));
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
          errors.push(...(err instanceof PortierError ? errorsOf(err).map((e) => e.message) : [errorMessage(err)]));
        }
      }
      return {
        name, provider, config, type: type?.type ?? typeKey ?? '', middleware: errors.length ? undefined : mw,
        status: statusOf(errors, warnings), errors: packed(errors), warnings: packed(warnings), usedBy: packed([]),
      };
    };
    const runtime = withLastGood(name, raw.next, cache.lastGood.middlewares, nextLastGood.middlewares, (d) => attempt(d, d === raw.next ? raw.errors : []));
    middlewares.set(name, runtime);
    return runtime;
  };
  for (const name of rawMiddlewares.keys()) buildMiddleware(name, []);

  const defaultEntryPoints = Object.entries(opts.entryPoints).filter(([, e]) => e.asDefault).map(([n]) => n);
  const defaultsHaveMiddlewares = defaultEntryPoints.some((ep) => opts.entryPoints[ep]?.middlewares?.length);
  /** A router's middlewares, its entrypoints' first, qualified, each once; most routers have none, and get no list of their own. */
  const middlewareNamesOf = (provider: string, config: RouterConfig): string[] => {
    if (!config.middlewares?.length && !config.entryPoints?.length && !defaultsHaveMiddlewares) return packed([]);
    const entryPoints = config.entryPoints?.length ? config.entryPoints : defaultEntryPoints;
    const epMiddlewares = entryPoints.flatMap((ep) => opts.entryPoints[ep]?.middlewares ?? []);
    return packed([...new Set([...epMiddlewares, ...(config.middlewares ?? []).map((m) => qualify(m, provider))])]);
  };
  const buildRouter = (provider: string, name: string, { config, warnings: said }: Definition<RouterConfig>, providerErrors: string[], usedRules: Set<string>): RouterRuntime => {
    const errors = [...providerErrors];
    const warnings = [...said];
    const entryPoints = config.entryPoints?.length ? config.entryPoints : defaultEntryPoints;
    for (const ep of entryPoints) if (!opts.entryPoints[ep]) errors.push(`entryPoint ${JSON.stringify(ep)} does not exist`);
    if (config.tls !== undefined) tlsReach(entryPoints, opts.entryPoints, errors, warnings);
    const ruleErrors: string[] = [];
    // A rule its provider could not even read (`rule: ''`) has its error already.
    const rule = config.rule === '' && providerErrors.length ? undefined : compiledRule(config.rule, config.ruleSyntax ?? opts.defaultRuleSyntax, cache, usedRules, ruleErrors, warnings);
    // The provider may have reported the same fault at its position (decode-dynamic.ts compiles rules too).
    for (const e of ruleErrors) if (!errors.some((said) => said.endsWith(e))) errors.push(e);
    if (config.tls?.options !== undefined) checkTlsOptions(config.tls.options, provider, list, errors, warnings);
    if (config.tls && opts.routerTls) errors.push(...opts.routerTls(config.tls));
    const mwNames = middlewareNamesOf(provider, config);
    const chain: Middleware[] = [];
    let plainChain = true;
    for (const m of mwNames) {
      const runtime = middlewares.get(m);
      if (!runtime) errors.push(missing('middleware', m));
      else if (!runtime.middleware) errors.push(disabled(`middleware ${m}`, runtime.errors));
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
      service = qualify(config.service, provider);
      const internal = internalServices.get(service);
      const svc = services.get(service);
      // The service's own name string, not a second one per router.
      service = svc?.name ?? service;
      if (internal) target = internal;
      else if (!svc) errors.push(missing('service', service));
      else if (!svc.handler || !svc.dispatch) errors.push(disabled(`service ${service}`, svc.errors));
      else {
        target = svc.handler;
        bareTarget = svc.dispatch;
        balanced = svc.balanced;
      }
    }
    const handler = errors.length || !target ? undefined : chain.reduceRight<Handler>((next, mw) => mw(next), target);
    // A balanced service's callback form, wrapped by the chain without a promise per callback-form middleware.
    const dispatch = handler && (bareTarget ? composeRouter(chain, bareTarget) : toDispatch(handler));
    return {
      name, provider, config, entryPoints,
      tls: config.tls !== undefined,
      priority: config.priority || (rule?.defaultPriority ?? 0),
      rule, middlewares: packed(mwNames), service, handler, dispatch, plain: dispatch !== undefined && plainChain && balanced,
      status: statusOf(errors, warnings), errors: packed(errors), warnings: packed(warnings),
    };
  };
  const nextRouters = builds.next;
  // What a router is composed of, by identity: a kept balancer or middleware is the same object, a rebuilt one is not.
  const usesOf = (provider: string, config: RouterConfig): unknown => {
    const service = config.service ? qualify(config.service, provider) : undefined;
    const target = service && (internalServices.get(service) ?? services.get(service)?.dispatch);
    const mws = middlewareNamesOf(provider, config);
    return mws.length ? [target, ...mws.map((m) => middlewares.get(m)?.middleware)] : target;
  };
  const place = (snap: ProviderSnapshot, bare: string, config: RouterConfig): void => {
      const name = `${bare}@${snap.provider}`;
      const usedRules = new Set<string>();
      const next = definition(config, providerSaid(snap, 'warnings', 'routers', bare));
      const providerErrors = providerSaid(snap, 'errors', 'routers', bare) ?? [];
      const said = providerErrors.length || next.warnings.length ? JSON.stringify([providerErrors, next.warnings]) : '';
      const uses = usesOf(snap.provider, config);
      const prev = builds.previous.get(name);
      let router: RouterRuntime;
      if (prev && reusable(prev, said, uses, config)) {
        router = prev.runtime;
        nextLastGood.routers.set(name, next);
        usedRules.add(ruleKey(config.ruleSyntax ?? opts.defaultRuleSyntax, config.rule));
        nextRouters.set(name, prev);
      } else {
        router = withLastGood(name, next, lastGoodRouters.previous, nextLastGood.routers, (d) => buildRouter(snap.provider, name, d, d === next ? providerErrors : [], usedRules));
        if (!router.errors.length && nextLastGood.routers.get(name) === next) nextRouters.set(name, { said, uses, runtime: router });
      }
      ledger.record(name, router, config.service && qualify(config.service, snap.provider), config.tls !== undefined, usedRules);
      routers.set(name, router);
  };
  const changed: [RouterRuntime | undefined, RouterRuntime | undefined][] = [];
  if (from) {
    for (const name of dirtyRouters) {
      const before = from.table.routers.get(name);
      ledger.forget(name, before);
      const at = name.lastIndexOf('@');
      const snap = byProvider.get(name.slice(at + 1));
      const all = snap?.config.http?.routers;
      if (snap && all && Object.hasOwn(all, name.slice(0, at))) place(snap, name.slice(0, at), all[name.slice(0, at)]);
      changed.push([before, routers.get(name)]);
    }
  } else {
    for (const snap of list) {
      const all = snap.config.http?.routers ?? {};
      for (const bare of Object.keys(all)) place(snap, bare, all[bare]);
    }
  }
  // usedBy lists are new objects: a runtime shared with the previous table is copied, never changed.
  // A whole compile's runtimes are all new (nothing holds them yet): each is given its list in place.
  const touchedServices = ledger.serviceUsers.changed();
  for (const name of from ? [...touchedServices, ...dirtyServices] : services.keys()) {
    const svc = services.get(name);
    const usedBy = svc && packed(ledger.serviceUsers.copy(name));
    if (svc && from) services.set(name, { ...svc, usedBy: usedBy! });
    else if (svc) Object.assign(svc, { usedBy });
  }
  const touchedMiddlewares = ledger.middlewareUsers.changed();
  for (const name of from ? touchedMiddlewares : middlewares.keys()) {
    const mw = middlewares.get(name);
    if (mw) middlewares.set(name, { ...mw, usedBy: packed(ledger.middlewareUsers.copy(name)) });
  }

  // A delta replaces only the balancers of the services it rebuilt.
  for (const name of from ? dirtyServices : cache.balancers.keys()) {
    const lb = balancers.previous.get(name)?.lb;
    if (lb && nextBalancers.get(name)?.lb !== lb) lb.close();
  }
  for (const [name, { mw, transports }] of cache.middlewares) if (nextMiddlewares.get(name)?.mw !== mw) for (const t of transports) t.release(false);
  for (const key of ledger.unheld(from ? undefined : cache.rules.keys())) cache.rules.delete(key);
  cache.routers = nextRouters;
  cache.balancers = nextBalancers;
  cache.middlewares = nextMiddlewares;
  cache.transports = nextTransports;
  cache.lastGood = nextLastGood;
  const table = from
    ? from.table.derive(routers, services, middlewares, changed)
    : new RoutingTable(routers, services, middlewares, Object.fromEntries(Object.entries(opts.entryPoints).map(([n, e]) => [n, e.tls])));
  cache.base = { table, snapshots: byProvider, ledger };
  return table;
}
