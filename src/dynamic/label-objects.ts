import { boolean, editDistance, int, list, oneOf, string, type Decoder } from '../config/decode';
import { errorMessage } from '../errors';
import { cookieDomain, durationString, healthCheckMode, upstreamScheme } from './decode-dynamic';
import type { LabelEntry } from './label-tree';
import type { HealthCheckConfig, LoadBalancerConfig, RouterConfig, StickyCookieConfig } from './model';

/**
 * Turns the label entries of one router, service or middleware into its
 * configuration. Every problem is reported against the label that caused it
 * and stays local to the object; whatever could be read is still returned.
 */
export interface Decoded<T> {
  value: T;
  errors: string[];
  warnings: string[];
}

type Setter<T> = (target: T, v: string, idx: number[], e: LabelEntry) => void;

interface KeySpec<T> {
  /** Lowercased path with `[]` where an index goes: `tls.domains[].main`. */
  key: string;
  set?: Setter<T>;
  /** Known to Traefik but not acted on by Portier: accepted with a warning. */
  ignored?: string;
}

function decodeEntries<T>(entries: LabelEntry[], specs: KeySpec<T>[], target: T, freeForm?: (e: LabelEntry, target: T) => boolean): Decoded<T> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const byKey = new Map(specs.map((s) => [s.key, s]));
  for (const e of entries) {
    const idx: number[] = [];
    const key = e.path
      .map((p) => (/^\d+$/.test(p) ? (idx.push(Number(p)), '[]') : p.toLowerCase()))
      .join('.')
      .replace(/\.\[\]/g, '[]');
    const spec = byKey.get(key);
    if (!spec) {
      if (freeForm?.(e, target)) continue;
      errors.push(`label ${e.label}: unknown key${suggest(key, specs.map((s) => s.key))}`);
      continue;
    }
    if (spec.ignored) {
      warnings.push(`label ${e.label}: ${spec.ignored}, ignored`);
      continue;
    }
    try {
      spec.set!(target, e.value, idx, e);
    } catch (err) {
      errors.push(`label ${e.label}: ${errorMessage(err).replace(/^value: /, '')}`);
    }
  }
  return { value: target, errors, warnings };
}

const val = <T>(d: Decoder<T>, v: string): T => d(v, 'value');
const port: Decoder<number> = (raw, path) => {
  const n = int(raw, path);
  if (n < 1 || n > 65535) throw new Error(`expected a port 1-65535, got ${n}`);
  return n;
};

type RouterDraft = Partial<RouterConfig> & { tlsOff?: boolean };

const ROUTER_KEYS: KeySpec<RouterDraft>[] = [
  { key: 'rule', set: (r, v) => (r.rule = v) },
  { key: 'rulesyntax', set: (r, v) => (r.ruleSyntax = val(oneOf('v2', 'v3'), v)) },
  { key: 'entrypoints', set: (r, v) => (r.entryPoints = val(list(string), v)) },
  { key: 'middlewares', set: (r, v) => (r.middlewares = val(list(string), v)) },
  { key: 'service', set: (r, v) => (r.service = v) },
  { key: 'priority', set: (r, v) => (r.priority = val(int, v)) },
  {
    key: 'tls',
    set: (r, v) => {
      if (val(boolean, v)) r.tls = r.tls ?? {};
      else r.tlsOff = true;
    },
  },
  { key: 'tls.certresolver', set: (r, v) => ((r.tls = r.tls ?? {}).certResolver = v) },
  { key: 'tls.options', set: (r, v) => ((r.tls = r.tls ?? {}).options = v) },
  { key: 'tls.domains[].main', set: (r, v, [n]) => (domain(r, n).main = v) },
  { key: 'tls.domains[].sans', set: (r, v, [n]) => (domain(r, n).sans = val(list(string), v)) },
  { key: 'observability.accesslogs', ignored: 'per-router observability is not supported' },
  { key: 'observability.metrics', ignored: 'per-router observability is not supported' },
  { key: 'observability.tracing', ignored: 'per-router observability is not supported' },
];

function domain(r: RouterDraft, n: number): { main: string; sans?: string[] } {
  const tls = (r.tls = r.tls ?? {});
  const domains = (tls.domains = tls.domains ?? []);
  return (domains[n] = domains[n] ?? { main: '' });
}

/** A router's labels; `rule` and `service` may be missing (the caller applies defaults). */
export function decodeRouter(entries: LabelEntry[]): Decoded<Partial<RouterConfig>> {
  const d = decodeEntries<RouterDraft>(entries, ROUTER_KEYS, {});
  const { tlsOff, ...router } = d.value;
  if (router.tls?.domains) {
    router.tls.domains.forEach((x, n) => {
      if (x.main !== '') return;
      const e = entries.find((e) => e.path[2] === String(n))!;
      d.errors.push(`label ${e.label}: tls.domains[${n}] has no main (set tls.domains[${n}].main)`);
    });
    router.tls.domains = router.tls.domains.filter((x) => x !== undefined && x.main !== '');
  }
  if (tlsOff && router.tls && Object.keys(router.tls).length > 0) d.warnings.push('tls=false is overridden by the tls.* labels: TLS is on');
  return { ...d, value: router };
}

/** The container-specific part of a service: how to reach this container. */
export interface ServerDraft {
  port?: number;
  scheme?: string;
  url?: string;
  weight?: number;
  preservePath?: boolean;
}

export interface ServiceDraft {
  lb: Omit<LoadBalancerConfig, 'servers'>;
  server: ServerDraft;
}

const hc = (s: ServiceDraft): HealthCheckConfig => (s.lb.healthCheck = s.lb.healthCheck ?? ({} as HealthCheckConfig));
const cookie = (s: ServiceDraft): StickyCookieConfig => ((s.lb.sticky = s.lb.sticky ?? {}).cookie = s.lb.sticky.cookie ?? {});
const LB = 'loadbalancer.';

const SERVICE_KEYS: KeySpec<ServiceDraft>[] = (
  [
  { key: 'server.port', set: (s, v) => (s.server.port = val(port, v)) },
  { key: 'server.scheme', set: (s, v) => (s.server.scheme = val(upstreamScheme, v)) },
  {
    key: 'server.url',
    set: (s, v) => {
      const scheme = new URL(v).protocol.slice(0, -1);
      if (scheme === 'h2c') val(upstreamScheme, scheme);
      if (!/^https?$/.test(scheme)) throw new Error(`expected an http or https URL, got ${JSON.stringify(v)}`);
      s.server.url = v;
    },
  },
  { key: 'server.weight', set: (s, v) => (s.server.weight = val(int, v)) },
  { key: 'server.preservepath', set: (s, v) => (s.server.preservePath = val(boolean, v)) },
  { key: 'passhostheader', set: (s, v) => (s.lb.passHostHeader = val(boolean, v)) },
  { key: 'serverstransport', set: (s, v) => (s.lb.serversTransport = v) },
  { key: 'responseforwarding.flushinterval', set: (s, v) => (s.lb.responseForwarding = { flushInterval: val(durationString, v) }) },
  { key: 'healthcheck.path', set: (s, v) => (hc(s).path = v) },
  { key: 'healthcheck.scheme', set: (s, v) => (hc(s).scheme = val(upstreamScheme, v)) },
  { key: 'healthcheck.hostname', set: (s, v) => (hc(s).hostname = v) },
  { key: 'healthcheck.port', set: (s, v) => (hc(s).port = val(port, v)) },
  { key: 'healthcheck.method', set: (s, v) => (hc(s).method = v.toUpperCase()) },
  { key: 'healthcheck.status', set: (s, v) => (hc(s).status = val(int, v)) },
  { key: 'healthcheck.interval', set: (s, v) => (hc(s).interval = val(durationString, v)) },
  { key: 'healthcheck.timeout', set: (s, v) => (hc(s).timeout = val(durationString, v)) },
  { key: 'healthcheck.followredirects', set: (s, v) => (hc(s).followRedirects = val(boolean, v)) },
  { key: 'healthcheck.unhealthyinterval', set: (s, v) => (hc(s).unhealthyInterval = val(durationString, v)) },
  { key: 'healthcheck.mode', set: (s, v) => (hc(s).mode = val(healthCheckMode, v)) },
  {
    key: 'sticky.cookie',
    set: (s, v) => {
      if (val(boolean, v)) cookie(s);
    },
  },
  { key: 'sticky.cookie.name', set: (s, v) => (cookie(s).name = v) },
  { key: 'sticky.cookie.secure', set: (s, v) => (cookie(s).secure = val(boolean, v)) },
  { key: 'sticky.cookie.httponly', set: (s, v) => (cookie(s).httpOnly = val(boolean, v)) },
  { key: 'sticky.cookie.samesite', set: (s, v) => (cookie(s).sameSite = v === '' ? '' : val(oneOf('none', 'lax', 'strict'), v)) },
  { key: 'sticky.cookie.maxage', set: (s, v) => (cookie(s).maxAge = val(int, v)) },
  { key: 'sticky.cookie.path', set: (s, v) => (cookie(s).path = v) },
  { key: 'sticky.cookie.domain', set: (s, v) => (cookie(s).domain = val(cookieDomain, v)) },
  {
    key: 'strategy',
    set: (_s, v) => {
      if (v.toLowerCase() !== 'wrr') throw new Error(`only the wrr strategy is supported, got ${JSON.stringify(v)}`);
    },
  },
  ] as KeySpec<ServiceDraft>[]
).map((k) => ({ ...k, key: LB + k.key }));

/** A service's labels (`loadbalancer.*`); the server part is resolved per container by the caller. */
export function decodeService(entries: LabelEntry[]): Decoded<ServiceDraft> {
  const d = decodeEntries<ServiceDraft>(entries, SERVICE_KEYS, { lb: { passHostHeader: true }, server: {} }, (e, s) => {
    // Health-check headers are free-form names: keep them as written.
    const [lb, h, hs, name, ...more] = e.path;
    if (lb?.toLowerCase() !== 'loadbalancer' || h?.toLowerCase() !== 'healthcheck' || hs?.toLowerCase() !== 'headers') return false;
    if (!name || more.length > 0) return false;
    (hc(s).headers = hc(s).headers ?? {})[name] = e.value;
    return true;
  });
  const hcLabel = entries.find((e) => e.path[1]?.toLowerCase() === 'healthcheck');
  if (hcLabel && d.value.lb.healthCheck && !d.value.lb.healthCheck.path) {
    d.errors.push(`label ${hcLabel.label}: a health check also needs loadbalancer.healthcheck.path`);
  }
  return d;
}

/**
 * `<m>.<type>.<option...>` → `{ <type>: { nested options } }`. Values stay
 * strings (the middleware's own decoder coerces them); indexes become
 * `{"0": ...}` maps, which list decoders accept.
 */
export function decodeMiddleware(entries: LabelEntry[]): Decoded<Record<string, unknown> | undefined> {
  const errors: string[] = [];
  const types = new Map<string, string>();
  for (const e of entries) if (e.path[0] && !types.has(e.path[0].toLowerCase())) types.set(e.path[0].toLowerCase(), e.path[0]);
  if (entries.some((e) => e.path.length === 0)) {
    errors.push(`label ${entries.find((e) => e.path.length === 0)!.label}: a middleware label needs a type (e.g. ...middlewares.<name>.redirectscheme.scheme)`);
  }
  if (types.size !== 1) {
    if (types.size > 1) errors.push(`labels define more than one middleware type (${[...types.values()].join(', ')}); use one middleware per name`);
    return { value: undefined, errors, warnings: [] };
  }
  const type = [...types.keys()][0];
  const options: Record<string, unknown> = {};
  for (const e of entries) {
    if (e.path.length === 0) continue;
    const opts = e.path.slice(1);
    if (opts.length === 0) {
      if (e.value !== '' && !/^true$/i.test(e.value)) errors.push(`label ${e.label}: expected options below the type, or true`);
      continue;
    }
    const problem = insert(options, opts, e.value);
    if (problem) errors.push(`label ${e.label}: ${problem}`);
  }
  return { value: { [type]: options }, errors, warnings: [] };
}

function insert(root: Record<string, unknown>, path: string[], value: string): string | undefined {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const existing = Object.keys(node).find((k) => k.toLowerCase() === path[i].toLowerCase());
    const key = existing ?? path[i];
    if (i === path.length - 1) {
      if (typeof node[key] === 'object') return 'conflicts with labels that set options below it';
      node[key] = value;
      return undefined;
    }
    if (node[key] === undefined) node[key] = {};
    if (typeof node[key] !== 'object') return `conflicts with the label that sets ${path.slice(0, i + 1).join('.')}`;
    node = node[key] as Record<string, unknown>;
  }
  return undefined;
}

function suggest(key: string, known: string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(k, key);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best ? ` (did you mean ${best.replace(/\[\]/g, '[n]')}?)` : '';
}
