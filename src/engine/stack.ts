import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { duration, int, isRecord } from '../config/decode';
import { PortierError } from '../errors';
import { interpolate, parseDotEnv, type Env } from './interpolate';

/**
 * Stack files: the subset of the compose format that makes sense for local
 * processes. Every key outside it is an error naming file, line and key path,
 * never silently ignored (except compose's own `version` and `x-*`
 * extension keys, which compose itself ignores).
 *
 * Health check `test` forms: `["CMD", "bin", "arg"]` (exec), `["CMD-SHELL",
 * "script"]` or a plain string (run by /bin/sh -c), `["NONE"]` (off) and
 * Portier's own `["HTTP", "/path"]`: a GET to the replica's
 * `http://127.0.0.1:$PORT/path`, healthy on a 2xx or 3xx answer.
 */
export type Command = { shell: string } | { argv: string[] };
export type HealthTest = { kind: 'exec'; argv: string[] } | { kind: 'shell'; script: string } | { kind: 'http'; path: string };

export interface HealthSpec {
  test: HealthTest;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type RestartMode = 'no' | 'on-failure' | 'always' | 'unless-stopped';
export interface RestartSpec {
  mode: RestartMode;
  /** on-failure:N; 0 means no limit. */
  maxRetries: number;
}

export interface DependsOn {
  service: string;
  condition: 'service_started' | 'service_healthy';
}

export interface ServiceSpec {
  name: string;
  command: Command;
  workingDir: string;
  environment: Record<string, string>;
  labels: Record<string, string>;
  replicas: number;
  healthcheck?: HealthSpec;
  restart: RestartSpec;
  dependsOn: DependsOn[];
  stopGraceMs: number;
}

export interface StackSpec {
  /** Absolute path of the stack file. */
  file: string;
  project: string;
  /** In start order: every service after the ones it depends on. */
  services: ServiceSpec[];
}

export interface StackOptions {
  /** Overrides the file's `name` (compose's `-p`). */
  project?: string;
  /** Defaults to process.env. */
  env?: Env;
}

type Key = string | number;

const HINTS: Record<string, string> = {
  ports: 'replicas get a free port in $PORT',
  expose: 'replicas get a free port in $PORT',
  image: 'a service runs its `command` as a local process',
  build: 'a service runs its `command` as a local process',
  volumes: 'processes see the host file system',
  networks: 'replicas listen on 127.0.0.1',
  network_mode: 'replicas listen on 127.0.0.1',
  container_name: 'replicas are named {project}-{service}-{n}',
};

const SERVICE_KEYS = new Set(['command', 'working_dir', 'environment', 'labels', 'deploy', 'scale', 'healthcheck', 'restart', 'depends_on', 'stop_grace_period']);
const HEALTH_KEYS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'disable']);
const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export function loadStackFile(file: string, opts: StackOptions = {}): StackSpec {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new PortierError('STACK_INVALID', `cannot read stack file: ${(err as Error).message}`, { path: displayPath(abs) });
  }
  return parseStack(text, abs, opts);
}

/** Parses stack file text; `file` locates `.env`, `working_dir` and error messages. */
export function parseStack(text: string, file: string, opts: StackOptions = {}): StackSpec {
  const abs = path.resolve(file);
  const shown = displayPath(abs);
  const env = { ...readDotEnv(abs), ...(opts.env ?? process.env) };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = lines.linePos(e.pos[0]).line;
    throw new PortierError('STACK_INVALID', e.message.split('\n')[0], { path: `${shown}:${line}` });
  }
  const fail = (keys: Key[], msg: string): PortierError =>
    new PortierError('STACK_INVALID', msg, { path: `${shown}:${lineOf(doc, lines, keys)}${keys.length > 0 ? `: ${dotted(keys)}` : ''}` });
  const top = interpolateTree(doc.toJS(), [], env, fail);
  if (!isRecord(top)) throw new PortierError('STACK_INVALID', 'expected a map with `services`', { path: `${shown}:1` });
  checkKeys(top, [], new Set(['name', 'services', 'version']), fail);

  const project = opts.project ?? (typeof top.name === 'string' ? top.name : path.basename(path.dirname(abs)).toLowerCase());
  if (!PROJECT_NAME.test(project)) {
    throw fail(opts.project === undefined && top.name !== undefined ? ['name'] : [], `project name ${JSON.stringify(project)} must be lowercase letters, digits, - or _`);
  }
  if (!isRecord(top.services) || Object.keys(top.services).length === 0) throw fail(['services'], 'expected a map of at least one service');
  const services = Object.entries(top.services).map(([name, raw]) =>
    parseService(name, raw, path.dirname(abs), env, fail),
  );
  return { file: abs, project, services: startOrder(services, fail) };
}

function parseService(name: string, raw: unknown, dir: string, env: Env, fail: (k: Key[], m: string) => PortierError): ServiceSpec {
  const at = ['services', name];
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) throw fail(at, 'service names are letters, digits, - or _');
  if (!isRecord(raw)) throw fail(at, 'expected a map');
  checkKeys(raw, at, SERVICE_KEYS, fail);
  const decode = <T>(d: (raw: unknown, p: string) => T, value: unknown, keys: Key[]): T => {
    try {
      return d(value, dotted(keys));
    } catch (err) {
      const e = err as PortierError;
      throw fail(keys, e.path ? e.message.slice(e.path.length + 2) : e.message);
    }
  };

  if (raw.command === undefined || raw.command === null) throw fail([...at, 'command'], 'is required: the runtime core runs a process per replica');
  const command = parseCommand(raw.command, [...at, 'command'], fail);
  const workingDir = path.resolve(dir, typeof raw.working_dir === 'string' ? raw.working_dir : '.');
  if (raw.working_dir !== undefined && typeof raw.working_dir !== 'string') throw fail([...at, 'working_dir'], 'expected a path');

  let replicas = 1;
  if (raw.scale !== undefined) replicas = decode(int, raw.scale, [...at, 'scale']);
  if (raw.deploy !== undefined) {
    if (!isRecord(raw.deploy)) throw fail([...at, 'deploy'], 'expected a map');
    checkKeys(raw.deploy, [...at, 'deploy'], new Set(['replicas']), fail);
    if (raw.deploy.replicas !== undefined) {
      const n = decode(int, raw.deploy.replicas, [...at, 'deploy', 'replicas']);
      if (raw.scale !== undefined && n !== replicas) throw fail([...at, 'deploy', 'replicas'], `conflicts with scale: ${replicas}`);
      replicas = n;
    }
  }
  if (replicas < 0) throw fail([...at, raw.scale !== undefined ? 'scale' : 'deploy'], 'replicas must be 0 or more');

  return {
    name,
    command,
    workingDir,
    environment: parseEnvironment(raw.environment, [...at, 'environment'], env, fail),
    labels: parseLabels(raw.labels, [...at, 'labels'], fail),
    replicas,
    healthcheck: parseHealth(raw.healthcheck, [...at, 'healthcheck'], decode, fail),
    restart: parseRestart(raw.restart, [...at, 'restart'], fail),
    dependsOn: parseDependsOn(raw.depends_on, [...at, 'depends_on'], fail),
    stopGraceMs: raw.stop_grace_period === undefined ? 10_000 : decode(duration, raw.stop_grace_period, [...at, 'stop_grace_period']),
  };
}

function parseCommand(raw: unknown, at: Key[], fail: (k: Key[], m: string) => PortierError): Command {
  if (typeof raw === 'string' && raw.trim() !== '') return { shell: raw };
  if (Array.isArray(raw) && raw.length > 0 && raw.every((a) => typeof a === 'string' || typeof a === 'number')) {
    return { argv: raw.map(String) };
  }
  throw fail(at, 'expected a non-empty string (run by /bin/sh -c) or a list (executed directly)');
}

function parseEnvironment(raw: unknown, at: Key[], env: Env, fail: (k: Key[], m: string) => PortierError): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (k: string, v: unknown, keys: Key[]): void => {
    if (v === null || v === undefined) {
      // `FOO` without a value passes the variable through from Portier's environment.
      if (env[k] !== undefined) out[k] = env[k] as string;
      return;
    }
    if (typeof v === 'object') throw fail(keys, 'expected a string, number or boolean');
    out[k] = String(v);
  };
  if (raw === undefined || raw === null) return out;
  if (isRecord(raw)) for (const [k, v] of Object.entries(raw)) put(k, v, [...at, k]);
  else if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      if (typeof item !== 'string') throw fail([...at, i], 'expected KEY=value');
      const eq = item.indexOf('=');
      put(eq < 0 ? item : item.slice(0, eq), eq < 0 ? null : item.slice(eq + 1), [...at, i]);
    });
  } else throw fail(at, 'expected a map or a list of KEY=value');
  return out;
}

function parseLabels(raw: unknown, at: Key[], fail: (k: Key[], m: string) => PortierError): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) return out;
  if (isRecord(raw)) {
    for (const [k, v] of Object.entries(raw)) {
      if (v !== null && typeof v === 'object') throw fail([...at, k], 'expected a string');
      out[k] = v === null ? '' : String(v);
    }
  } else if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      if (typeof item !== 'string') throw fail([...at, i], 'expected key=value');
      const eq = item.indexOf('=');
      out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
    });
  } else throw fail(at, 'expected a map or a list of key=value');
  return out;
}

type Decode = <T>(d: (raw: unknown, p: string) => T, value: unknown, keys: Key[]) => T;

function parseHealth(raw: unknown, at: Key[], decode: Decode, fail: (k: Key[], m: string) => PortierError): HealthSpec | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) throw fail(at, 'expected a map');
  checkKeys(raw, at, HEALTH_KEYS, fail);
  if (raw.disable === true) return undefined;
  const t = raw.test;
  let test: HealthTest | undefined;
  if (typeof t === 'string' && t.trim() !== '') test = { kind: 'shell', script: t };
  else if (Array.isArray(t) && t.every((x) => typeof x === 'string')) {
    const [kind, ...rest] = t as string[];
    if (kind === 'NONE') return undefined;
    if (kind === 'CMD' && rest.length > 0) test = { kind: 'exec', argv: rest };
    if (kind === 'CMD-SHELL' && rest.length === 1) test = { kind: 'shell', script: rest[0] };
    if (kind === 'HTTP' && rest.length === 1 && rest[0].startsWith('/')) test = { kind: 'http', path: rest[0] };
  }
  if (!test) {
    throw fail([...at, 'test'], 'expected ["CMD", "bin", ...], ["CMD-SHELL", "script"], ["HTTP", "/path"], ["NONE"] or a shell string');
  }
  const dur = (key: string, fallback: number): number => (raw[key] === undefined ? fallback : decode(duration, raw[key], [...at, key]));
  const retries = raw.retries === undefined ? 3 : decode(int, raw.retries, [...at, 'retries']);
  if (retries < 1) throw fail([...at, 'retries'], 'must be 1 or more');
  return { test, intervalMs: dur('interval', 30_000), timeoutMs: dur('timeout', 30_000), retries, startPeriodMs: dur('start_period', 0) };
}

function parseRestart(raw: unknown, at: Key[], fail: (k: Key[], m: string) => PortierError): RestartSpec {
  if (raw === undefined || raw === null || raw === false || raw === 'no') return { mode: 'no', maxRetries: 0 };
  const m = typeof raw === 'string' ? /^(always|unless-stopped|on-failure)(?::(\d+))?$/.exec(raw) : null;
  if (!m || (m[2] !== undefined && m[1] !== 'on-failure')) {
    throw fail(at, `expected no, on-failure, on-failure:N, always or unless-stopped, got ${JSON.stringify(raw)}`);
  }
  return { mode: m[1] as RestartMode, maxRetries: m[2] === undefined ? 0 : Number(m[2]) };
}

function parseDependsOn(raw: unknown, at: Key[], fail: (k: Key[], m: string) => PortierError): DependsOn[] {
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw)) {
    return raw.map((s, i) => {
      if (typeof s !== 'string') throw fail([...at, i], 'expected a service name');
      return { service: s, condition: 'service_started' as const };
    });
  }
  if (!isRecord(raw)) throw fail(at, 'expected a list of services or a map of service: {condition}');
  return Object.entries(raw).map(([service, v]) => {
    if (v === null) return { service, condition: 'service_started' as const };
    if (!isRecord(v)) throw fail([...at, service], 'expected a map with `condition`');
    checkKeys(v, [...at, service], new Set(['condition']), fail);
    if (v.condition === undefined) return { service, condition: 'service_started' as const };
    if (v.condition !== 'service_started' && v.condition !== 'service_healthy') {
      throw fail([...at, service, 'condition'], `expected service_started or service_healthy, got ${JSON.stringify(v.condition)}`);
    }
    return { service, condition: v.condition };
  });
}

/** Topological order; an unknown dependency or a cycle is an error. */
function startOrder(services: ServiceSpec[], fail: (k: Key[], m: string) => PortierError): ServiceSpec[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const order: ServiceSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: ServiceSpec, chain: string[]): void => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw fail(['services', s.name, 'depends_on'], `dependency cycle: ${[...chain, s.name].join(' -> ')}`);
    state.set(s.name, 'visiting');
    for (const d of s.dependsOn) {
      const dep = byName.get(d.service);
      if (!dep) throw fail(['services', s.name, 'depends_on'], `unknown service ${JSON.stringify(d.service)}`);
      if (d.condition === 'service_healthy' && !dep.healthcheck) {
        throw fail(['services', s.name, 'depends_on', d.service], `service_healthy needs a healthcheck on ${d.service}`);
      }
      visit(dep, [...chain, s.name]);
    }
    state.set(s.name, 'done');
    order.push(s);
  };
  for (const s of services) visit(s, []);
  return order;
}

function checkKeys(obj: Record<string, unknown>, at: Key[], allowed: Set<string>, fail: (k: Key[], m: string) => PortierError): void {
  for (const key of Object.keys(obj)) {
    if (allowed.has(key) || key.startsWith('x-')) continue;
    const hint = at.length === 2 && at[0] === 'services' ? HINTS[key] : undefined;
    throw fail([...at, key], `not supported by the runtime core${hint ? ` (${hint})` : ''}`);
  }
}

function interpolateTree(v: unknown, keys: Key[], env: Env, fail: (k: Key[], m: string) => PortierError): unknown {
  if (typeof v === 'string') {
    try {
      return interpolate(v, env);
    } catch (err) {
      throw fail(keys, (err as Error).message);
    }
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolateTree(x, [...keys, i], env, fail));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateTree(x, [...keys, k], env, fail)]));
  return v;
}

function readDotEnv(stackFile: string): Env {
  const file = path.join(path.dirname(stackFile), '.env');
  if (!existsSync(file)) return {};
  try {
    return parseDotEnv(readFileSync(file, 'utf8'), displayPath(file));
  } catch (err) {
    throw new PortierError('STACK_INVALID', (err as Error).message);
  }
}

/** Line of the deepest key of `keys` present in the document (1-based). */
function lineOf(doc: Document, lines: LineCounter, keys: Key[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as { range?: number[] } | null)?.range?.[0] ?? 0;
  for (const k of keys) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(k));
      if (!pair) break;
      offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof k === 'number' && node.items[k]) {
      node = node.items[k];
      offset = (node as { range?: number[] }).range?.[0] ?? offset;
    } else break;
  }
  return lines.linePos(offset).line;
}

const dotted = (keys: Key[]): string => keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

function displayPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}
