import type { RouterConfig } from '../dynamic/model';
import type { RuleSyntax } from '../rules/types';
import type { RouterRuntime } from './runtime';
import { ruleKey } from './compile-parts';

/**
 * What the compiler records of who uses what: `usedBy` for the API, which
 * routers a changed service touches, which compiled rules are still held.
 * A whole compile starts a new ledger; a delta (compile-delta.ts) updates
 * the last one in place, router by router, so its cost follows the size of
 * the change. A compile that throws drops the ledger (compile.ts), and the
 * next one starts anew.
 */
export class Ledger {
  /** Routers by the service they use, and by each middleware (usedBy). */
  readonly serviceUsers = new Users();
  readonly middlewareUsers = new Users();
  /**
   * Routers whose new definition names a service other than the one they
   * use (they serve their last good definition), by that service; with
   * serviceUsers, the routers a change of a service touches (dependentsOf).
   */
  private readonly otherDependents = new Users(false);
  /** The service such a router names: the others name the one they use. */
  private readonly named = new Map<string, string>();
  /** Routers with a `tls` section: rebuilt on every change (compile.ts, reusable). */
  readonly tlsRouters = new Set<string>();
  /** Services another object is composed of by name (weighted services, middlewares): a change to one is compiled whole. */
  readonly pinned = new Set<string>();
  /** A router's rule keys, where they are not only its own rule's (keyOf): one entry per router would cost 10,000. */
  private readonly ruleKeys = new Map<string, string[]>();
  private readonly ruleUsers = new Map<string, number>();
  /** Rule keys whose last holder went in this compile: dropped unless held again. */
  private readonly released = new Set<string>();

  /** `defaultSyntax`: that of rules whose router names none (the static configuration's). */
  constructor(private readonly defaultSyntax: RuleSyntax | 'auto') {}

  private keyOf(config: RouterConfig): string {
    return ruleKey(config.ruleSyntax ?? this.defaultSyntax, config.rule);
  }

  /**
   * Routers by every service they name, in their new definition or the last
   * good one they serve, existing or not: a service that changes, appears or
   * goes changes what these routers say or serve.
   */
  dependentsOf(service: string): string[] {
    return [...this.serviceUsers.of(service), ...this.otherDependents.of(service)];
  }

  /** Takes a router out, before it is rebuilt or because it is gone. */
  forget(name: string, before: RouterRuntime | undefined): void {
    if (before?.service) this.serviceUsers.remove(before.service, name);
    for (const m of before?.middlewares ?? []) this.middlewareUsers.remove(m, name);
    const named = this.named.get(name);
    if (named !== undefined) this.otherDependents.remove(named, name);
    this.named.delete(name);
    this.tlsRouters.delete(name);
    for (const key of this.ruleKeys.get(name) ?? (before ? [this.keyOf(before.config)] : [])) {
      const n = this.ruleUsers.get(key)! - 1;
      this.ruleUsers.set(key, n);
      if (n === 0) this.released.add(key);
    }
    this.ruleKeys.delete(name);
  }

  /** Records a router as built: `named` is the service its definition names, qualified; `rules`, the rule keys its build used. */
  record(name: string, router: RouterRuntime, named: string | undefined, tls: boolean, rules: Set<string>): void {
    for (const m of router.middlewares) this.middlewareUsers.add(m, name);
    if (router.service) this.serviceUsers.add(router.service, name);
    if (named && named !== router.service) {
      this.otherDependents.add(named, name);
      this.named.set(name, named);
    }
    if (tls) this.tlsRouters.add(name);
    if (rules.size !== 1 || !rules.has(this.keyOf(router.config))) this.ruleKeys.set(name, [...rules]);
    for (const key of rules) {
      this.ruleUsers.set(key, (this.ruleUsers.get(key) ?? 0) + 1);
      this.released.delete(key);
    }
  }

  /** Whether a compiled rule is held by no router: from a delta, only those it released are asked. */
  unheld(keys: Iterable<string> | undefined): string[] {
    const out = [...(keys ?? this.released)].filter((k) => !this.ruleUsers.get(k));
    for (const k of out) this.ruleUsers.delete(k);
    this.released.clear();
    return out;
  }
}

/** Routers by the name of an object they use, in the order they were recorded. */
class Users {
  private readonly byName = new Map<string, string[]>();
  /** Names whose list changed since the last call to `changed`: kept when asked for (`tracked`). */
  private readonly touched?: Set<string>;

  constructor(tracked = true) {
    if (tracked) this.touched = new Set();
  }

  add(name: string, router: string): void {
    const list = this.byName.get(name);
    // Lists are made to their size (most names have one user, and a pushed-to empty array reserves room
    // for 17), and a one-user list is replaced, never changed: `copy` hands it out as it is.
    if (list && list.length > 1) list.push(router);
    else this.byName.set(name, list ? [list[0], router] : [router]);
    this.touched?.add(name);
  }

  remove(name: string, router: string): void {
    const list = this.byName.get(name);
    const i = list ? list.indexOf(router) : -1;
    if (i === -1) return;
    if (list!.length === 1) this.byName.delete(name);
    else list!.splice(i, 1);
    this.touched?.add(name);
  }

  of(name: string): readonly string[] {
    return this.byName.get(name) ?? [];
  }

  /** The list as it is now, never changed afterwards (usedBy): a one-user list is that list itself (see add). */
  copy(name: string): string[] {
    const list = this.byName.get(name);
    return list?.length === 1 ? list : [...(list ?? [])];
  }

  /** The names whose lists changed since the last call. */
  changed(): string[] {
    const out = [...(this.touched ?? [])];
    this.touched?.clear();
    return out;
  }
}
