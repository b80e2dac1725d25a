import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { staticConfigDecoder, StaticConfig, METRICS_DEFAULTS } from './static';
import { locate, ParsedConfig } from './located';
import { readConfigFile } from './config-file';
import { PortierError, configError } from '../errors';
import { ConfigErrors, decodeAll, isRecord } from './decode';
import { canBindPort, portRights } from '../privileges';

/** Looked for in the working directory when no file is named; the first found is read. */
const DEFAULT_FILES = ['portier.yaml', 'portier.toml'];

/**
 * Static configuration from, in increasing precedence: the YAML or TOML file
 * (`--config`, else ./portier.yaml or ./portier.toml if present), `PORTIER_*` environment
 * variables and `--a.b.c=value` flags — Traefik's three sources with
 * Portier's prefix.
 */
export interface LoadedStatic {
  config: StaticConfig;
  /** Absolute path of the file read, if any; relative paths in it resolve against its folder. */
  file?: string;
  notices: string[];
  /** Keys accepted but not applied, or deprecated, each `file:line: path: message`: logged at start, listed by `portier check`. */
  warnings: PortierError[];
}

type LoadOptions = { file?: string; env?: NodeJS.ProcessEnv; flags?: string[]; cwd?: string };

/** Every decoding error is thrown at once (ConfigErrors), each at its `file:line`. */
export function loadStaticConfig(opts: LoadOptions): LoadedStatic {
  const { errors, ...loaded } = readStaticConfig(opts);
  if (errors.length) throw new ConfigErrors(errors);
  return loaded;
}

/**
 * As loadStaticConfig, but decoding errors come back with what could be
 * decoded (a broken field at its default), so that `portier check` goes on
 * to the dynamic files. A file that cannot be read or parsed still throws.
 */
export function readStaticConfig(opts: LoadOptions): LoadedStatic & { errors: PortierError[] } {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const named = opts.file ?? env.PORTIER_CONFIG;
  const found = named ? [] : DEFAULT_FILES.filter((f) => existsSync(resolve(cwd, f)));
  const file = named ?? found[0];
  let raw: Record<string, unknown> = {};
  let parsed: ParsedConfig | undefined;
  const abs = file ? resolve(cwd, file) : undefined;
  if (abs) {
    parsed = readConfigFile(abs);
    if (!isRecord(parsed.value)) throw new PortierError('CONFIG_PARSE', 'expected a map at the top level', { path: `${abs}:1` });
    raw = parsed.value;
  }
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('PORTIER_') || v === undefined) continue;
    if (['PORTIER_CONFIG', 'PORTIER_ENGINE_SOCKET', 'PORTIER_DATA_DIR'].includes(k)) continue;
    setPath(raw, k.slice('PORTIER_'.length).toLowerCase().split('_'), v);
  }
  for (const flag of opts.flags ?? []) {
    const m = /^--([A-Za-z][\w.-]*)(?:=(.*))?$/.exec(flag);
    if (!m) throw configError(flag, 'expected --key.path=value');
    setPath(raw, m[1].split('.'), m[2] ?? 'true');
  }
  const decoded = decodeAll(staticConfigDecoder, raw, '');
  const at = (err: PortierError): PortierError => (parsed && abs ? locate(err, abs, parsed) : err);
  const errors = decoded.errors.map(at);
  const config: StaticConfig = decoded.value ?? staticConfigDecoder({}, '');
  let notices: string[] = [];
  try {
    notices = applyDefaults(config);
  } catch (err) {
    if (!(err instanceof PortierError)) throw err;
    errors.push(err);
  }
  if (found.length > 1) notices.push(`${found.join(' and ')} both found: reading ${found[0]} only`);
  resolvePaths(config, abs ? dirname(abs) : cwd);
  return { config, file: abs, notices, warnings: decoded.warnings.map(at), errors };
}

function setPath(target: Record<string, unknown>, keys: string[], value: string): void {
  let node = target;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) {
      node[key] = value;
      return;
    }
    const existing = Object.keys(node).find((k) => k.toLowerCase() === key.toLowerCase());
    const name = existing ?? key;
    if (!isRecord(node[name])) node[name] = {};
    node = node[name] as Record<string, unknown>;
  });
}

/** Traefik's implicit `web` entrypoint, and the `traefik` one for the API. */
function applyDefaults(config: StaticConfig): string[] {
  const notices: string[] = [];
  const eps = config.entryPoints;
  // With no entrypoint configured: `web` for HTTP and `websecure` for HTTPS, as a Traefik user expects.
  if (Object.keys(eps).length === 0) Object.assign(eps, staticConfigDecoder({ entryPoints: { web: {}, websecure: {} } }, '').entryPoints);
  const ports: Record<string, [number, number]> = { web: [80, 8080], websecure: [443, 8443] };
  const rights = portRights();
  for (const [name, [privileged, fallback]] of Object.entries(ports)) {
    const ep = eps[name];
    if (!ep || ep.address) continue;
    const bindable = canBindPort(privileged, rights);
    ep.address = `:${bindable ? privileged : fallback}`;
    if (!bindable) notices.push(`entrypoint ${name}: listening on :${fallback}, as :${privileged} needs root, CAP_NET_BIND_SERVICE or net.ipv4.ip_unprivileged_port_start <= ${privileged} (see docs/dev-machine.md: portier service install)`);
  }
  if ((config.api || config.ping) && !eps.traefik) {
    eps.traefik = staticConfigDecoder({ entryPoints: { traefik: { address: '127.0.0.1:8081' } } }, '').entryPoints.traefik;
  }
  const prom = config.metrics?.prometheus;
  if (prom && !prom.manualRouting && !eps[prom.entryPoint] && prom.entryPoint === METRICS_DEFAULTS.entryPoint) {
    eps.metrics = staticConfigDecoder({ entryPoints: { metrics: { address: METRICS_DEFAULTS.address } } }, '').entryPoints.metrics;
  }
  for (const [name, ep] of Object.entries(eps)) {
    if (!ep.address) throw configError(`entryPoints.${name}.address`, 'is required', 'CONFIG_MISSING');
  }
  return notices;
}

function resolvePaths(config: StaticConfig, base: string): void {
  const file = config.providers.file;
  if (file?.filename) file.filename = resolve(base, file.filename);
  if (file?.directory) file.directory = resolve(base, file.directory);
  if (config.accessLog?.filePath) config.accessLog.filePath = resolve(base, config.accessLog.filePath);
  if (config.log.filePath) config.log.filePath = resolve(base, config.log.filePath);
  if (config.dataDir) config.dataDir = resolve(base, config.dataDir);
  // Resolver sections are decoded by the TLS manager; only their file paths are made absolute here.
  for (const resolver of Object.values(config.certificatesResolvers ?? {})) {
    const acme = isRecord(resolver) ? Object.entries(resolver).find(([k]) => k.toLowerCase() === 'acme')?.[1] : undefined;
    if (!isRecord(acme)) continue;
    for (const [key, value] of Object.entries(acme)) {
      const k = key.toLowerCase();
      // A shared store's address (redis://…) is not a path.
      if (k === 'storage' && typeof value === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) acme[key] = resolve(base, value);
      if (k === 'cacertificates' && Array.isArray(value)) acme[key] = value.map((v) => (typeof v === 'string' ? resolve(base, v) : v));
    }
  }
}
