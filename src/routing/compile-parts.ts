import type { MiddlewareConfig, ProviderSnapshot, RouterConfig, ServiceConfig } from '../dynamic/model';
import { Dispatch, Handler, toHandler } from '../proxy/exchange';
import { compileRule } from '../rules/compile';
import type { CompiledRule, RuleSyntax } from '../rules/types';
import { TransportOptions, loadCa, loadClientCertificate } from '../proxy/transport';
import { duration } from '../config/decode';
import { errorMessage } from '../errors';
import { qualify, statusOf, type Status } from './runtime';
import type { CompileCache, CompileOptions, RouterBuild } from './compile';

/**
 * The pieces compile.ts builds objects with: last good definitions, the
 * errors objects say of their dependencies, and the checks of a router's
 * TLS and a serversTransport.
 */

/**
 * A router, service or middleware whose new definition is broken keeps
 * serving its last good one, marked `warning` with the new one's errors,
 * until it is fixed or removed; an object with no good definition yet is
 * disabled. (Traefik drops it: one typo in a reload would take a site down.)
 */
export interface LastGood {
  routers: Map<string, Definition<RouterConfig>>;
  services: Map<string, Definition<ServiceConfig>>;
  middlewares: Map<string, Definition<MiddlewareConfig>>;
}

export interface Definition<C> {
  config: C;
  /** What its provider said about it then: still true of it. */
  warnings: string[];
}

/**
 * The one empty list every compiled object without errors, warnings or
 * users holds: 10,000 routers and services would otherwise hold 100,000
 * empty arrays. Frozen: nothing may add to a list it did not make.
 */
const NO_STRINGS = Object.freeze([]) as unknown as string[];
export const packed = (list: string[]): string[] => (list.length ? list : NO_STRINGS);

/**
 * One promise form per balancer: a balancer kept across a change keeps its
 * handler too, so the routers composed on it can be kept as they are.
 */
const handlers = new WeakMap<Dispatch, Handler>();
export const handlerOf = (dispatch: Dispatch): Handler => {
  let h = handlers.get(dispatch);
  if (!h) handlers.set(dispatch, (h = toHandler(dispatch)));
  return h;
};

/** An object's error that only repeats the errors of one it uses. */
export const disabled = (what: string, errors: string[]): string => `${what} is disabled${errors.length ? `: ${errors.join('; ')}` : ''}`;

/** True of disabled()'s errors: `portier check` reports their cause once, at its own place, and not again on each user. */
export const repeatsDependency = (error: string): boolean => /^(service|middleware) \S+ is disabled(: |$)/.test(error);

export const missing = (kind: 'service' | 'middleware', name: string): string => `${kind} ${name} does not exist`;

/** The provider of the object a missing() error names: `portier check` cannot see those of providers that run only at run time. */
export const missingFrom = (error: string): string | undefined => /^(?:service|middleware) \S+@(\S+) does not exist$/.exec(error)?.[1];

/** Snapshots whose provider said something of some object: the others are not asked of each (a key string per object costs). */
const spoke = new WeakMap<ProviderSnapshot, boolean>();

/** What `snap`'s provider said (`errors` or `warnings`) of one object, e.g. of `routers.<bare>`. */
export function providerSaid(snap: ProviderSnapshot, which: 'errors' | 'warnings', kind: string, bare: string): string[] | undefined {
  let any = spoke.get(snap);
  if (any === undefined) spoke.set(snap, (any = Object.keys(snap.errors ?? {}).length + Object.keys(snap.warnings ?? {}).length > 0));
  return any ? snap[which]?.[`${kind}.${bare}`] : undefined;
}

export const refused = (errors: string[]): string[] => errors.map((e) => `${e}: new definition refused, the last good one keeps serving`);

/**
 * Builds an object from its new definition and, when that has errors, from
 * its last good one: the first that works is used. `attempt` must leave no
 * trace of a failed build (a balancer, a usedBy entry) in the table.
 */
export function withLastGood<C, R extends { errors: string[]; warnings: string[]; status: Status }>(
  name: string,
  next: Definition<C>,
  last: ReadonlyMap<string, Definition<C>>,
  keep: Map<string, Definition<C>>,
  attempt: (d: Definition<C>) => R,
): R {
  const fresh = attempt(next);
  if (!fresh.errors.length) {
    keep.set(name, next);
    return fresh;
  }
  const good = last.get(name);
  if (!good || sameDefinition(good.config, next.config)) return fresh;
  keep.set(name, good);
  const kept = attempt(good);
  const warnings = [...kept.warnings, ...refused(fresh.errors)];
  return kept.errors.length ? fresh : { ...kept, warnings, status: statusOf(kept.errors, warnings) };
}

/**
 * Each decoded object's JSON, once, made only when two definitions that are
 * not the same object are compared: a provider that keeps an unchanged
 * object's identity (the file provider does) never serialises it.
 */
const jsonOf = new WeakMap<object, string>();

export const sameDefinition = (a: unknown, b: unknown): boolean => a === b || definitionJson(a) === definitionJson(b);

function definitionJson(config: unknown): string {
  let json = typeof config === 'object' && config !== null ? jsonOf.get(config) : undefined;
  if (json === undefined) {
    json = JSON.stringify(config);
    if (typeof config === 'object' && config !== null) jsonOf.set(config, json);
  }
  return json;
}

export const definition = <C>(config: C, warnings: string[] | undefined): Definition<C> => ({ config, warnings: warnings?.length ? [...warnings] : NO_STRINGS });

/** A TLS router on an entrypoint that cannot end TLS is never served there: said on the router, an error when it is nowhere. */
export function tlsReach(entryPoints: string[], all: CompileOptions['entryPoints'], errors: string[], warnings: string[]): void {
  const unable = entryPoints.filter((ep) => all[ep] && !all[ep].endsTls);
  if (unable.length === 0) return;
  const text = `tls: entrypoint(s) ${unable.join(', ')} cannot end TLS, so this router is not served there`;
  if (unable.length === entryPoints.length) errors.push(text);
  else warnings.push(text);
}

export const ruleKey = (syntax: RuleSyntax | 'auto', source: string): string => `${syntax}\u0000${source}`;

/**
 * A router is kept, the same object, when its definition, what its provider
 * said of it and the handlers it is composed of are all unchanged. A router
 * with `tls` is always rebuilt: its errors also come from the TLS manager
 * and the TLS options of every provider.
 */
export function reusable(prev: RouterBuild, said: string, uses: unknown, config: RouterConfig): boolean {
  if (prev.said !== said || config.tls !== undefined) return false;
  const same = Array.isArray(prev.uses) && Array.isArray(uses)
    ? prev.uses.length === uses.length && prev.uses.every((u, i) => u !== undefined && u === uses[i])
    : prev.uses !== undefined && prev.uses === uses;
  return same && sameDefinition(prev.runtime.config, config);
}

export function compiledRule(source: string, syntax: RuleSyntax | 'auto', cache: CompileCache, used: Set<string>, errors: string[], warnings: string[]): CompiledRule | undefined {
  const key = ruleKey(syntax, source);
  used.add(key);
  let hit = cache.rules.get(key);
  if (!hit) {
    try {
      const compiled = compileRule(source, { syntax });
      hit = compiled.warnings.length ? compiled : compiled.rule;
    } catch (err) {
      hit = { error: `rule: ${errorMessage(err)}` };
    }
    cache.rules.set(key, hit);
  }
  if ('error' in hit) {
    errors.push(hit.error);
    return undefined;
  }
  if (!('rule' in hit)) return hit;
  warnings.push(...hit.warnings);
  return hit.rule;
}

/** A router naming a TLS options set no provider defines is disabled, as Traefik refuses it (the TLS manager applies known ones per host). */
export function checkTlsOptions(ref: string, provider: string, snaps: ProviderSnapshot[], errors: string[], warnings: string[]): void {
  const q = qualify(ref, provider);
  const at = q.lastIndexOf('@');
  const name = q.slice(0, at);
  if (name === 'default') return;
  const exists = snaps.some((s) => s.provider === q.slice(at + 1) && s.config.tls?.options?.[name] !== undefined);
  if (!exists) errors.push(`tls.options: unknown TLS options ${JSON.stringify(q)}`);
}

/** A serversTransport's options (the static one's without `ref`), its files read once per configuration change. */
export function transportFor(ref: string | undefined, provider: string, snaps: ProviderSnapshot[], base: TransportOptions): TransportOptions {
  if (!ref) return base;
  const q = qualify(ref, provider);
  const at = q.lastIndexOf('@');
  const snap = snaps.find((s) => s.provider === q.slice(at + 1));
  const t = snap?.config.http?.serversTransports?.[q.slice(0, at)];
  if (!t) throw new Error(`serversTransport ${q} does not exist`);
  const invalid = snap?.errors?.[`serversTransports.${q.slice(0, at)}`];
  if (invalid?.length) throw new Error(`serversTransport ${q} is invalid: ${invalid.join('; ')}`);
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
    disableHTTP2: t.disableHTTP2 ?? base.disableHTTP2,
    dialTimeoutMs: ft.dialTimeout ? duration(ft.dialTimeout, `${path}.dialTimeout`) : base.dialTimeoutMs,
    responseHeaderTimeoutMs: ft.responseHeaderTimeout ? duration(ft.responseHeaderTimeout, `${path}.responseHeaderTimeout`) : base.responseHeaderTimeoutMs,
    idleConnTimeoutMs: ft.idleConnTimeout ? duration(ft.idleConnTimeout, `${path}.idleConnTimeout`) : base.idleConnTimeoutMs,
  };
}
