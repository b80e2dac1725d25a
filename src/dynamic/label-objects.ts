import { boolean, editDistance, type Decoder } from '../config/decode';
import { errorMessage } from '../errors';
import {
  HEALTH_CHECK, LOAD_BALANCER, OBSERVABILITY_IGNORED, portNumber, RESPONSE_FORWARDING, ROUTER, ROUTER_TLS, SERVER, STICKY_COOKIE, TLS_DOMAIN, upstreamScheme,
} from './decode-dynamic';
import type { LabelEntry } from './label-tree';
import type { HealthCheckConfig, LoadBalancerConfig, RouterConfig, StickyCookieConfig } from './model';

/**
 * Turns the label entries of one router, service or middleware into its
 * configuration. Every problem is reported against the label that caused it
 * and stays local to the object; whatever could be read is still returned.
 * Values go through the dynamic schema's own field decoders
 * (decode-dynamic.ts), so a label and a file key accept the same values;
 * this file only knows Traefik's label spelling of each key.
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

type RouterDraft = Partial<RouterConfig> & { tlsOff?: boolean };

const ROUTER_KEYS: KeySpec<RouterDraft>[] = [
  { key: 'rule', set: (r, v) => (r.rule = val(ROUTER.rule, v)) },
  { key: 'rulesyntax', set: (r, v) => (r.ruleSyntax = val(ROUTER.ruleSyntax, v)) },
  { key: 'entrypoints', set: (r, v) => (r.entryPoints = val(ROUTER.entryPoints, v)) },
  { key: 'middlewares', set: (r, v) => (r.middlewares = val(ROUTER.middlewares, v)) },
  { key: 'service', set: (r, v) => (r.service = val(ROUTER.service, v)) },
  { key: 'priority', set: (r, v) => (r.priority = val(ROUTER.priority, v)) },
  {
    key: 'tls',
    set: (r, v) => {
      if (val(boolean, v)) r.tls = r.tls ?? {};
      else r.tlsOff = true;
    },
  },
  { key: 'tls.certresolver', set: (r, v) => ((r.tls = r.tls ?? {}).certResolver = val(ROUTER_TLS.certResolver, v)) },
  { key: 'tls.options', set: (r, v) => ((r.tls = r.tls ?? {}).options = val(ROUTER_TLS.options, v)) },
  { key: 'tls.domains[].main', set: (r, v, [n]) => (domain(r, n).main = val(TLS_DOMAIN.main, v)) },
  { key: 'tls.domains[].sans', set: (r, v, [n]) => (domain(r, n).sans = val(TLS_DOMAIN.sans, v)) },
  { key: 'observability.accesslogs', ignored: OBSERVABILITY_IGNORED },
  { key: 'observability.metrics', ignored: OBSERVABILITY_IGNORED },
  { key: 'observability.tracing', ignored: OBSERVABILITY_IGNORED },
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
  // The two keys only labels have: the server is this container, at a port and scheme.
  { key: 'server.port', set: (s, v) => (s.server.port = val(portNumber, v)) },
  { key: 'server.scheme', set: (s, v) => (s.server.scheme = val(upstreamScheme, v)) },
  { key: 'server.url', set: (s, v) => (s.server.url = val(SERVER.url, v)) },
  { key: 'server.weight', set: (s, v) => (s.server.weight = val(SERVER.weight, v)) },
  { key: 'server.preservepath', set: (s, v) => (s.server.preservePath = val(SERVER.preservePath, v)) },
  { key: 'passhostheader', set: (s, v) => (s.lb.passHostHeader = val(LOAD_BALANCER.passHostHeader, v)) },
  { key: 'serverstransport', set: (s, v) => (s.lb.serversTransport = val(LOAD_BALANCER.serversTransport, v)) },
  { key: 'responseforwarding.flushinterval', set: (s, v) => (s.lb.responseForwarding = { flushInterval: val(RESPONSE_FORWARDING.flushInterval, v) }) },
  { key: 'healthcheck.path', set: (s, v) => (hc(s).path = val(HEALTH_CHECK.path, v)) },
  { key: 'healthcheck.scheme', set: (s, v) => (hc(s).scheme = val(HEALTH_CHECK.scheme, v)) },
  { key: 'healthcheck.hostname', set: (s, v) => (hc(s).hostname = val(HEALTH_CHECK.hostname, v)) },
  { key: 'healthcheck.port', set: (s, v) => (hc(s).port = val(HEALTH_CHECK.port, v)) },
  { key: 'healthcheck.method', set: (s, v) => (hc(s).method = val(HEALTH_CHECK.method, v)) },
  { key: 'healthcheck.status', set: (s, v) => (hc(s).status = val(HEALTH_CHECK.status, v)) },
  { key: 'healthcheck.interval', set: (s, v) => (hc(s).interval = val(HEALTH_CHECK.interval, v)) },
  { key: 'healthcheck.timeout', set: (s, v) => (hc(s).timeout = val(HEALTH_CHECK.timeout, v)) },
  { key: 'healthcheck.followredirects', set: (s, v) => (hc(s).followRedirects = val(HEALTH_CHECK.followRedirects, v)) },
  { key: 'healthcheck.unhealthyinterval', set: (s, v) => (hc(s).unhealthyInterval = val(HEALTH_CHECK.unhealthyInterval, v)) },
  { key: 'healthcheck.mode', set: (s, v) => (hc(s).mode = val(HEALTH_CHECK.mode, v)) },
  {
    key: 'sticky.cookie',
    set: (s, v) => {
      if (val(boolean, v)) cookie(s);
    },
  },
  { key: 'sticky.cookie.name', set: (s, v) => (cookie(s).name = val(STICKY_COOKIE.name, v)) },
  { key: 'sticky.cookie.secure', set: (s, v) => (cookie(s).secure = val(STICKY_COOKIE.secure, v)) },
  { key: 'sticky.cookie.httponly', set: (s, v) => (cookie(s).httpOnly = val(STICKY_COOKIE.httpOnly, v)) },
  { key: 'sticky.cookie.samesite', set: (s, v) => (cookie(s).sameSite = val(STICKY_COOKIE.sameSite, v)) },
  { key: 'sticky.cookie.maxage', set: (s, v) => (cookie(s).maxAge = val(STICKY_COOKIE.maxAge, v)) },
  { key: 'sticky.cookie.path', set: (s, v) => (cookie(s).path = val(STICKY_COOKIE.path, v)) },
  { key: 'sticky.cookie.domain', set: (s, v) => (cookie(s).domain = val(STICKY_COOKIE.domain, v)) },
  { key: 'strategy', set: (s, v) => (s.lb.strategy = val(LOAD_BALANCER.strategy, v)) },
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
