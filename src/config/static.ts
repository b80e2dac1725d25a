import {
  boolean, duration, ignored, ignoredSwitch, int, list, number, object, oneOf, optional, record, string, withDefault, Decoder, isRecord,
} from './decode';
import { availableParallelism } from 'node:os';
import { etcdProvider, redisProvider } from './kv-options';
import { configError } from '../errors';
import { isUdpAddress, UDP_DEFAULTS } from '../udp/address';
import { TCP_SERVERS_TRANSPORT } from '../dynamic/decode-tcp';

/**
 * Static configuration, in the key names and shape of Traefik's static
 * configuration so a Traefik user's file mostly works unchanged. Sections
 * owned by pluggable parts (provider options, certificate resolvers) are kept
 * raw here and decoded by the part that owns them (src/plugins.ts), so that
 * src/ never imports a provider.
 */

/** Defaults, documented in README ("Timeouts and limits"). */
export const ENTRYPOINT_DEFAULTS = {
  readHeaderTimeoutMs: 10_000,
  readTimeoutMs: 60_000,
  writeTimeoutMs: 0,
  idleTimeoutMs: 180_000,
  graceTimeOutMs: 10_000,
  maxHeaderBytes: 16_384,
  maxHeaderCount: 100,
  maxConnections: 0,
  /** Traefik's `http2.maxConcurrentStreams` default. */
  http2MaxConcurrentStreams: 250,
} as const;

/** `[host]:port[/tcp|/udp]` as in Traefik; `/tcp` is the default and dropped, `/udp` is kept (isUdpAddress). */
const address: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  const m = /^((?:\[[0-9a-fA-F:.]+\]|[^:\s/]*)?:(\d{1,5}))(?:\/(tcp|udp))?$/i.exec(s);
  if (!m) throw configError(path, `expected [host]:port[/tcp|/udp], got ${JSON.stringify(s)}`);
  const port = Number(m[2]);
  if (port > 65535) throw configError(path, `port ${port} out of range`);
  return m[3]?.toLowerCase() === 'udp' ? `${m[1]}/udp` : m[1];
};

/** Every HTTPS listener applies `tls.options.default`, so naming another set must not look as if it took effect. */
const entryPointTlsOptions: Decoder<string> = (raw, path, ctx) => {
  const s = string(raw, path);
  if (s !== 'default') ctx?.warn(path, `only tls.options.default applies; ${JSON.stringify(s)} is not used`);
  return s;
};

const redirectionPriority: Decoder<number | undefined> = (raw, path, ctx) => {
  if (raw === undefined || raw === null) return undefined;
  const n = int(raw, path);
  ctx?.warn(path, 'not applied; the redirection answers every request on this entrypoint before routing');
  return n;
};

/** Traefik refuses a zero timeout: a session would end before its answer. */
const udpTimeout: Decoder<number> = (raw, path) => {
  const ms = duration(raw, path);
  if (ms <= 0) throw configError(path, 'must be greater than zero');
  return ms;
};

const udpSessions: Decoder<number> = (raw, path) => {
  const n = int(raw, path);
  if (n < 1) throw configError(path, `expected at least 1, got ${n}`);
  return n;
};

/** SETTINGS_MAX_CONCURRENT_STREAMS is 31 bits; 0 would let a client open no stream at all. */
const streamLimit: Decoder<number> = (raw, path) => {
  const n = int(raw, path);
  if (n < 1 || n > 2 ** 31 - 1) throw configError(path, `expected 1 to 2147483647, got ${n}`);
  return n;
};

const entryPointFields = object({
  address: withDefault(address, ''),
  asDefault: optional(boolean),
  forwardedHeaders: object({ trustedIPs: withDefault(list(string), []), insecure: withDefault(boolean, false) }),
  proxyProtocol: optional(object({ trustedIPs: withDefault(list(string), []), insecure: withDefault(boolean, false) })),
  transport: object({
      respondingTimeouts: object({
        readHeaderTimeout: withDefault(duration, ENTRYPOINT_DEFAULTS.readHeaderTimeoutMs),
        readTimeout: withDefault(duration, ENTRYPOINT_DEFAULTS.readTimeoutMs),
        writeTimeout: withDefault(duration, ENTRYPOINT_DEFAULTS.writeTimeoutMs),
        idleTimeout: withDefault(duration, ENTRYPOINT_DEFAULTS.idleTimeoutMs),
      }),
      lifeCycle: object({
        graceTimeOut: withDefault(duration, ENTRYPOINT_DEFAULTS.graceTimeOutMs),
        requestAcceptGraceTimeout: withDefault(duration, 0),
      }),
      keepAliveMaxRequests: withDefault(int, 0),
      maxConnections: withDefault(int, ENTRYPOINT_DEFAULTS.maxConnections),
    }),
  http2: object({ maxConcurrentStreams: withDefault(streamLimit, ENTRYPOINT_DEFAULTS.http2MaxConcurrentStreams) }),
  udp: object({ timeout: withDefault(udpTimeout, UDP_DEFAULTS.timeoutMs), maxSessions: withDefault(udpSessions, UDP_DEFAULTS.maxSessions) }),
  http: optional(
    object({
      redirections: optional(
        object({
          entryPoint: object({
            to: string,
            scheme: withDefault(string, 'https'),
            permanent: withDefault(boolean, false),
            priority: redirectionPriority,
          }),
        }),
      ),
      middlewares: optional(list(string)),
      tls: optional(object({ certResolver: optional(string), options: optional(entryPointTlsOptions), domains: optional(list(object({ main: string, sans: optional(list(string)) }))) })),
      maxHeaderBytes: withDefault(int, ENTRYPOINT_DEFAULTS.maxHeaderBytes),
      maxHeaderCount: withDefault(int, ENTRYPOINT_DEFAULTS.maxHeaderCount),
      maxRequestBodyBytes: optional(int),
      dropUnderscoreHeaders: withDefault(boolean, true),
      encodedCharacters: optional(
        object({
          allowEncodedSlash: withDefault(boolean, false),
          allowEncodedBackSlash: withDefault(boolean, false),
          allowEncodedNullCharacter: withDefault(boolean, false),
          allowEncodedSemicolon: withDefault(boolean, false),
          allowEncodedPercent: withDefault(boolean, false),
          allowEncodedQuestionMark: withDefault(boolean, false),
          allowEncodedHash: withDefault(boolean, false),
        }),
      ),
    }),
  ),
});

/** Keys that mean something on one kind of entrypoint only: said, never silently dropped. */
const TCP_ONLY = ['http', 'http2', 'proxyProtocol', 'forwardedHeaders'];

const entryPoint: Decoder<ReturnType<typeof entryPointFields>> = (raw, path, ctx) => {
  const ep = entryPointFields(raw, path, ctx);
  const given = isRecord(raw) ? Object.keys(raw) : [];
  const has = (key: string): string | undefined => given.find((k) => k.toLowerCase() === key.toLowerCase());
  if (isUdpAddress(ep.address)) {
    for (const key of TCP_ONLY.map(has)) if (key) ctx?.warn(`${path}.${key}`, 'applies to TCP entrypoints; this one is UDP (/udp), ignored');
    delete ep.http;
  } else {
    const key = has('udp');
    if (key) ctx?.warn(`${path}.${key}`, 'applies to UDP entrypoints (address ending in /udp); this one is TCP, ignored');
  }
  return ep;
};

const fileProviderFields = object({
  filename: optional(string),
  directory: optional(string),
  watch: withDefault(boolean, true),
});

/** Traefik's `filename` and `directory` are alternatives; with both, one would be read and the other watched. */
const fileProvider: Decoder<ReturnType<typeof fileProviderFields>> = (raw, path, ctx) => {
  const p = fileProviderFields(raw, path, ctx);
  if (p.filename !== undefined && p.directory !== undefined) throw configError(path, 'set filename or directory, not both');
  return p;
};

/** `200` or a range `400-499`, as in Traefik's access-log filters. */
const statusRange: Decoder<string> = (raw, path) => {
  const s = string(raw, path).trim();
  const m = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(s);
  if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) throw configError(path, `expected a status code or a range like 400-499, got ${JSON.stringify(s)}`);
  return s;
};

const accessLog = object({
  filePath: optional(string),
  addInternals: withDefault(boolean, false),
  format: withDefault(oneOf('json', 'common'), 'common'),
  bufferingSize: withDefault(int, 0),
  filters: optional(object({ statusCodes: optional(list(statusRange)), retryAttempts: optional(boolean), minDuration: optional(duration) })),
  fields: optional(
    object({
      defaultMode: withDefault(oneOf('keep', 'drop', 'redact'), 'keep'),
      names: optional(record(oneOf('keep', 'drop', 'redact'))),
      headers: optional(object({ defaultMode: withDefault(oneOf('keep', 'drop', 'redact'), 'drop'), names: optional(record(oneOf('keep', 'drop', 'redact'))) })),
    }),
  ),
});

/** A section present but empty in YAML (`prometheus:`) is null: on, with defaults. */
const section = <T>(d: Decoder<T>): Decoder<T | undefined> => (raw, path) => (raw === undefined ? undefined : d(raw, path));

export const METRICS_DEFAULTS = { entryPoint: 'metrics', address: '127.0.0.1:8082', buckets: [0.1, 0.3, 1.2, 5], prefix: 'portier' } as const;

const metricPrefix: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(s)) throw configError(path, `expected a Prometheus name prefix (letters, digits, _), got ${JSON.stringify(s)}`);
  return s;
};

const metrics = object({
  addInternals: withDefault(boolean, false),
  prometheus: section(
    object({
      entryPoint: withDefault(string, METRICS_DEFAULTS.entryPoint),
      buckets: withDefault(list(number), [...METRICS_DEFAULTS.buckets]),
      prefix: withDefault(metricPrefix, METRICS_DEFAULTS.prefix),
      addEntryPointsLabels: withDefault(boolean, true),
      addRoutersLabels: withDefault(boolean, true),
      addServicesLabels: withDefault(boolean, true),
      manualRouting: withDefault(boolean, false),
    }),
  ),
});

/** `workers`: a count of processes, or `auto` for one per CPU this process may use. */
const workerCount: Decoder<number> = (raw, path) => {
  if (typeof raw === 'string' && raw.trim().toLowerCase() === 'auto') return availableParallelism();
  const n = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) throw configError(path, `expected a number of worker processes (1 to 1024) or auto, got ${JSON.stringify(raw)}`);
  return n;
};

const raw: Decoder<unknown> = (v) => v;
const rawMap: Decoder<Record<string, unknown>> = (v, path) => {
  if (v === null || v === undefined || v === true || v === '') return {};
  if (!isRecord(v)) throw configError(path, 'expected a map');
  return v;
};

export const staticConfigDecoder = object({
  global: optional(object({ checkNewVersion: ignoredSwitch('Portier never checks for new versions'), sendAnonymousUsage: ignoredSwitch('Portier sends no usage data') })),
  entryPoints: withDefault(record(entryPoint), {}),
  providers: object({
    providersThrottleDuration: withDefault(duration, 50),
    file: optional(fileProvider),
    docker: optional(rawMap),
    swarm: optional(rawMap),
    runtime: optional(rawMap),
    etcd: etcdProvider,
    redis: redisProvider,
  }),
  api: optional(
    object({
      dashboard: withDefault(boolean, true),
      insecure: withDefault(boolean, false),
      debug: ignoredSwitch('Portier has no debug endpoints (/debug/vars, /debug/pprof)'),
      disableDashboardAd: ignored("Portier's dashboard shows no ads"),
    }),
  ),
  ping: optional(object({ entryPoint: withDefault(string, 'traefik'), terminatingStatusCode: withDefault(int, 503) })),
  log: object({ level: withDefault(oneOf('debug', 'info', 'warn', 'error'), 'info'), format: withDefault(oneOf('text', 'json'), 'text'), filePath: optional(string) }),
  accessLog: optional(accessLog),
  metrics: optional(metrics),
  certificatesResolvers: optional(record(raw)),
  core: object({ defaultRuleSyntax: withDefault(oneOf('v2', 'v3', 'auto'), 'auto') }),
  serversTransport: optional(
    object({
      insecureSkipVerify: withDefault(boolean, false),
      rootCAs: optional(list(string)),
      certificates: optional(list(object({ certFile: string, keyFile: string }))),
      maxIdleConnsPerHost: withDefault(int, 64),
      // `https:` servers spoken to in HTTP/1.1 only, never offered h2 by ALPN (as the dynamic serversTransports' key).
      disableHTTP2: withDefault(boolean, false),
      forwardingTimeouts: optional(object({ dialTimeout: optional(duration), responseHeaderTimeout: optional(duration), idleConnTimeout: optional(duration) })),
    }),
  ),
  dataDir: optional(string),
  // A development machine's gateway: the 404 for an unknown *.localhost host lists the routes served (docs/dev-machine.md).
  devMode: withDefault(boolean, false),
  // Processes serving the entrypoints (docs/workers.md): 1 is one process; `auto` one per CPU the process may use.
  workers: withDefault(workerCount, 1),
  // Started as root: the user Portier drops to once every listener is bound (docs/dev-machine.md).
  user: optional(string),
  // Sections of Traefik's static configuration Portier has nothing behind: a warning naming each, so that a
  // Traefik file starts unchanged and its user knows what did not carry over (README, "Traefik keys").
  pilot: ignored('Traefik Pilot was removed in Traefik v3, and Portier has none'),
  hub: ignored('Traefik Hub is not part of Portier'),
  experimental: ignored('Portier has no experimental features (plugins, HTTP/3, local plugins)'),
  tracing: ignored('Portier has no tracing; the access log and metrics cover every request'),
  tls: ignored('TLS certificates and options are dynamic configuration, not read from the static file; put them in a file provider file'),
  hostResolver: ignored('CNAME flattening is not supported'),
  spiffe: ignored('Portier has no SPIFFE support'),
  /** The transport of TCP services that name no serversTransport (docs/tcp.md). */
  tcpServersTransport: optional(object(TCP_SERVERS_TRANSPORT)),
});

export type StaticConfig = ReturnType<typeof staticConfigDecoder>;
export type EntryPoint = NonNullable<StaticConfig['entryPoints']>[string];
