import type { Logger } from '../log/logger';
import type { DynamicConfig, LoadBalancerConfig, RouterConfig, ServerConfig } from './model';

/**
 * Merges the routers, services and middlewares that containers define into
 * one provider snapshot, and keeps compose projects apart.
 *
 * Definitions of one name are folded in the order containers arrive (the
 * caller sorts them): the first wins, a different later one is a warning
 * naming both, and a service's servers are the union of its containers'.
 *
 * Project scoping: a name that containers of two or more compose projects
 * define *differently* (servers and errors included) is split: each project
 * keeps its own as `<name>-<project>`, and containers outside any project keep
 * the bare name. Copy-pasted labels (`services.web...` in every project) are
 * the usual cause; without scoping, one project's router lost the conflict and
 * the other's service balanced over both projects' containers. Routers are
 * scoped after their `service` and `middlewares` references have been resolved
 * in their own project, so two routers with the same labels that now point to
 * different services are different too. Identical definitions stay one shared
 * object, as Traefik merges them; for a service that happens only when both
 * projects name the same servers (`server.url`), so sharing it is harmless.
 * Conflicts within one project, or between a project and containers outside
 * any project, fold as above (what Traefik users get, minus the deletion).
 * Each split is one notice (`service web: defined by projects blog and shop;
 * scoped as web-blog, web-shop`), which providers log at info level.
 */
export interface LabelResult {
  config: DynamicConfig;
  errors: Record<string, string[]>;
  warnings: Record<string, string[]>;
  /** What was scoped to which project: said once in the log, not an error or warning of any object. */
  notices: string[];
}

/** Logs a provider's notices at info level when they appear, not again on every re-list while they hold. */
export class NoticeLog {
  private shown = new Set<string>();

  report(notices: string[], log: Logger | undefined): void {
    for (const n of notices) if (!this.shown.has(n)) log?.info(n);
    this.shown = new Set(notices);
  }
}

type Kind = 'routers' | 'services' | 'middlewares';
type LoadBalancerDraft = Omit<LoadBalancerConfig, 'servers'>;

interface Definition {
  owner: string;
  project: string;
  value: unknown;
  /** A service's server at this container, if it has one. */
  server?: ServerConfig;
  /** Whether that server takes requests now (the container is ready). */
  ready?: boolean;
}

interface Note {
  project: string;
  msg: string;
  error: boolean;
}

interface Folded {
  value: unknown;
  servers: ServerConfig[];
  conflicts: string[];
}

/** What one container adds: its messages and objects, tagged with its project. */
export interface ContainerMerge {
  error(key: string, msg: string): void;
  warn(key: string, msg: string): void;
  router(name: string, value: RouterConfig): void;
  middleware(name: string, value: Record<string, unknown>): void;
  /** `server` is this container's, even while it is not ready: it tells the projects' services apart either way. */
  service(name: string, lb: LoadBalancerDraft, server: ServerConfig | undefined, ready: boolean): void;
}

const KINDS: Kind[] = ['routers', 'services', 'middlewares'];
const OBJECT_KEY = /^(routers|services|middlewares)\.(.+)$/s;

export class LabelMerge {
  private readonly defs = { routers: new Map<string, Definition[]>(), services: new Map<string, Definition[]>(), middlewares: new Map<string, Definition[]>() };
  private readonly notes = { routers: new Map<string, Note[]>(), services: new Map<string, Note[]>(), middlewares: new Map<string, Note[]>() };
  /** Messages about a container or the provider itself (keyed by container name, or `constraints`). */
  private readonly errors = new Map<string, Set<string>>();
  private readonly warnings = new Map<string, Set<string>>();

  error(key: string, msg: string): void {
    add(this.errors, key, msg);
  }

  container(owner: string, project: string): ContainerMerge {
    const note = (key: string, msg: string, error: boolean): void => {
      const m = OBJECT_KEY.exec(key);
      if (m) push(this.notes[m[1] as Kind], m[2], { project, msg, error });
      else add(error ? this.errors : this.warnings, key, msg);
    };
    return {
      error: (key, msg) => note(key, msg, true),
      warn: (key, msg) => note(key, msg, false),
      router: (name, value) => push(this.defs.routers, name, { owner, project, value }),
      middleware: (name, value) => push(this.defs.middlewares, name, { owner, project, value }),
      service: (name, lb, server, ready) => push(this.defs.services, name, { owner, project, value: lb, server, ready }),
    };
  }

  result(): LabelResult {
    const out = new Output();
    // Routers last: their references are resolved against the other two kinds' scoping.
    const scoped = { services: this.place('services', out), middlewares: this.place('middlewares', out) };
    this.resolveReferences(scoped);
    this.place('routers', out);
    for (const [k, v] of this.errors) for (const m of v) add(out.errors, k, m);
    for (const [k, v] of this.warnings) for (const m of v) add(out.warnings, k, m);
    return out.result();
  }

  /** Puts every name of `kind` into `out`, scoped where projects disagree; returns the projects of each scoped name. */
  private place(kind: Kind, out: Output): Map<string, Set<string>> {
    const scoped = new Map<string, Set<string>>();
    for (const name of new Set([...this.defs[kind].keys(), ...this.notes[kind].keys()])) {
      const defs = this.defs[kind].get(name) ?? [];
      const notes = this.notes[kind].get(name) ?? [];
      const projects = [...new Set([...defs, ...notes].map((x) => x.project))].sort();
      // A name with `@` is an error only, never an object: nothing to keep apart.
      const split = !name.includes('@') && projects.filter((p) => p !== '').length > 1 && new Set(projects.map((p) => signature(defs, notes, p))).size > 1;
      if (!split) {
        out.put(kind, name, defs, notes);
        continue;
      }
      scoped.set(name, new Set(projects));
      for (const p of projects) out.put(kind, scopedName(name, p), defs.filter((d) => d.project === p), notes.filter((n) => n.project === p));
      const named = projects.filter((p) => p !== '');
      const outside = projects.includes('') ? `; containers outside a project keep ${name}` : '';
      out.notices.push(`${kind.slice(0, -1)} ${name}: defined by projects ${and(named)}; scoped as ${named.map((p) => scopedName(name, p)).join(', ')}${outside}`);
    }
    return scoped;
  }

  /** A router's bare `service` and `middlewares` names mean its own project's object when that name was scoped. */
  private resolveReferences(scoped: Record<'services' | 'middlewares', Map<string, Set<string>>>): void {
    for (const [router, defs] of this.defs.routers) {
      for (const d of defs) {
        const r = d.value as RouterConfig;
        const ref = (kind: 'services' | 'middlewares', name: string): string => {
          const projects = scoped[kind].get(name);
          if (!projects || name.includes('@')) return name;
          if (projects.has(d.project)) return scopedName(name, d.project);
          // Else the bare name, which only containers outside a project still define.
          if (!projects.has('')) {
            const choices = [...projects].map((p) => scopedName(name, p)).join(', ');
            push(this.notes.routers, router, { project: d.project, msg: `${kind.slice(0, -1)} ${name} is defined per project (${choices}), not by ${d.project === '' ? 'containers outside a project' : `project ${d.project}`}: name one of them`, error: false });
          }
          return name;
        };
        const value: RouterConfig = { ...r };
        if (r.service !== undefined) value.service = ref('services', r.service);
        if (r.middlewares) value.middlewares = r.middlewares.map((m) => ref('middlewares', m));
        // In a fixed key order, so the API shows every router alike however its labels were written.
        d.value = JSON.parse(stableJson(value)) as RouterConfig;
      }
    }
  }
}

/** The snapshot being built: final names, folded definitions, messages on the object they concern. */
class Output {
  readonly objects = { routers: new Map<string, Definition[]>(), services: new Map<string, Definition[]>(), middlewares: new Map<string, Definition[]>() };
  readonly errors = new Map<string, Set<string>>();
  readonly warnings = new Map<string, Set<string>>();
  readonly notices: string[] = [];

  put(kind: Kind, name: string, defs: Definition[], notes: Note[]): void {
    // A scoped name may meet a name some container already uses; they fold like any two definitions.
    if (defs.length) this.objects[kind].set(name, [...(this.objects[kind].get(name) ?? []), ...defs]);
    for (const n of notes) add(n.error ? this.errors : this.warnings, `${kind}.${name}`, n.msg);
  }

  result(): LabelResult {
    const http: NonNullable<DynamicConfig['http']> = {};
    for (const kind of KINDS) {
      if (this.objects[kind].size === 0) continue;
      const entries: [string, unknown][] = [];
      for (const [name, defs] of this.objects[kind]) {
        const f = fold(defs);
        for (const c of f.conflicts) add(this.warnings, `${kind}.${name}`, c);
        entries.push([name, kind === 'services' ? { loadBalancer: { ...(f.value as LoadBalancerDraft), servers: f.servers } } : f.value]);
      }
      (http as Record<string, unknown>)[kind] = Object.fromEntries(entries);
    }
    const plain = (m: Map<string, Set<string>>): Record<string, string[]> => Object.fromEntries([...m].map(([k, v]) => [k, [...v]]));
    return { config: Object.keys(http).length ? { http } : {}, errors: plain(this.errors), warnings: plain(this.warnings), notices: this.notices };
  }
}

function fold(defs: Definition[]): Folded {
  const first = defs[0];
  const json = stableJson(first.value);
  const out: Folded = { value: first.value, servers: [], conflicts: [] };
  for (const d of defs) {
    const other = stableJson(d.value);
    if (other !== json) out.conflicts.push(`defined differently by containers ${first.owner} and ${d.owner}: ${json} vs ${other}; using ${first.owner}'s`);
    if (d.server && d.ready && !out.servers.some((x) => x.url === d.server!.url)) out.servers.push(d.server);
  }
  return out;
}

/**
 * What one project makes of a name: its folded definition, errors, and the
 * servers of all its containers, ready or not, so that a split does not come
 * and go with health (two projects' services with no ready server would
 * otherwise look the same).
 */
function signature(defs: Definition[], notes: Note[], project: string): string {
  const mine = defs.filter((d) => d.project === project);
  const errors = notes.filter((n) => n.project === project && n.error).map((n) => n.msg).sort();
  if (mine.length === 0) return stableJson({ errors });
  const servers = [...new Set(mine.flatMap((d) => (d.server ? [stableJson(d.server)] : [])))].sort();
  return stableJson({ value: fold(mine).value, servers, errors });
}

const scopedName = (name: string, project: string): string => (project === '' ? name : `${name}-${project}`);

function and(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Fixed key order, so equal definitions compare equal however they were written. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

function add(m: Map<string, Set<string>>, key: string, msg: string): void {
  const set = m.get(key) ?? new Set<string>();
  set.add(msg);
  m.set(key, set);
}
