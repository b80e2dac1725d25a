import {
  boolean, decodeAll, duration, type Decoding, fail, ignored, int, list, object, oneOf, optional, record, required, string, number, isRecord, Decoder,
} from '../config/decode';
import { configError, PortierError, errorMessage } from '../errors';
import { compileRule } from '../rules/compile';
import { decodeTcpSection } from './decode-tcp';
import { decodeUdp } from '../udp/decode-udp';
import type { DynamicConfig, RouterConfig, ServiceConfig, MiddlewareConfig, ServersTransportConfig } from './model';

/**
 * The one schema of the dynamic configuration. Files decode through it
 * whole; the label parser (label-objects.ts) maps each label to one of the
 * field decoders below, so that an option means and validates the same from
 * every provider. Each object decodes on its own, every mistake in it
 * collected, so that an error disables only the router, service or
 * middleware it is in. Middleware options are checked when compiled, by
 * their own type's decoder; here only the one-type-key shape.
 */

/** A server or health-check scheme: `h2c` is HTTP/2 in plaintext with prior knowledge (gRPC servers). */
export const upstreamScheme: Decoder<'http' | 'https' | 'h2c'> = oneOf('http', 'https', 'h2c');

/** Traefik's two modes: an HTTP request, or the gRPC health protocol (grpc.health.v1.Health/Check). */
const healthCheckMode: Decoder<'http' | 'grpc'> = oneOf('http', 'grpc');

/** Checked here so that a bad value is reported with its path rather than when the service starts. */
const durationString: Decoder<string> = (raw, path) => {
  duration(raw, path);
  return string(raw, path);
};

/** Go's durations may be negative here: Traefik flushes at once then (the balancer reads a leading `-` so). */
const flushInterval: Decoder<string> = (raw, path) => {
  const s = string(raw, path).trim();
  duration(s.startsWith('-') ? s.slice(1) : s, path);
  return s;
};

/** A host name or IPv4 address, optionally with Go's tolerated leading dot; anything else could inject cookie attributes. */
const cookieDomain: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  if (!/^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i.test(s)) throw configError(path, `expected a domain name, got ${JSON.stringify(s)}`);
  return s;
};

export const portNumber: Decoder<number> = (raw, path) => {
  const n = int(raw, path);
  if (n < 1 || n > 65535) throw configError(path, `expected a port 1-65535, got ${n}`);
  return n;
};

/** Sent as written by Node only when uppercase; a lowercase `get` would also miss the checks that compare with GET. */
const httpMethod: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(s)) throw configError(path, `expected an HTTP method, got ${JSON.stringify(s)}`);
  return s.toUpperCase();
};

const serverUrl: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw configError(path, `invalid URL ${JSON.stringify(s)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'h2c:') throw configError(path, `unsupported scheme ${u.protocol} (http, https, h2c)`);
  if (!u.hostname) throw configError(path, `URL ${JSON.stringify(s)} has no host`);
  return s;
};

/** The fields of each object, for label-objects.ts to decode single labels with. */
export const TLS_DOMAIN = { main: required(string), sans: optional(list(string)) };

export const ROUTER_TLS = { certResolver: optional(string), options: optional(string), domains: optional(list(object(TLS_DOMAIN))) };

export const OBSERVABILITY_IGNORED = 'per-router observability is not supported';

export const ROUTER = {
  rule: required(string),
  ruleSyntax: optional(oneOf('v2', 'v3')),
  entryPoints: optional(list(string)),
  middlewares: optional(list(string)),
  service: optional(string),
  priority: optional(int),
  tls: optional(object(ROUTER_TLS)),
  observability: ignored(OBSERVABILITY_IGNORED, object({ accessLogs: optional(boolean), metrics: optional(boolean), tracing: optional(boolean) })),
};

export const STICKY_COOKIE = {
  name: optional(string),
  secure: optional(boolean),
  httpOnly: optional(boolean),
  sameSite: optional(oneOf('none', 'lax', 'strict', '')),
  maxAge: optional(int),
  path: optional(string),
  domain: optional(cookieDomain),
};

export const SERVER = { url: required(serverUrl), weight: optional(int), preservePath: optional(boolean) };

export const HEALTH_CHECK = {
  path: required(string),
  scheme: optional(upstreamScheme),
  mode: optional(healthCheckMode),
  hostname: optional(string),
  port: optional(portNumber),
  method: optional(httpMethod),
  status: optional(int),
  interval: optional(durationString),
  unhealthyInterval: optional(durationString),
  timeout: optional(durationString),
  headers: optional(record(string)),
  followRedirects: optional(boolean),
};

export const RESPONSE_FORWARDING = { flushInterval: optional(flushInterval) };

export const LOAD_BALANCER = {
  servers: list(object(SERVER)),
  passHostHeader: optional(boolean),
  healthCheck: optional(object(HEALTH_CHECK)),
  sticky: optional(object({ cookie: optional(object(STICKY_COOKIE)) })),
  serversTransport: optional(string),
  responseForwarding: optional(object(RESPONSE_FORWARDING)),
  strategy: optional(oneOf('wrr')),
};

const routerFields = object(ROUTER);

/** The rule is compiled here too, so that a bad one is reported at its line rather than only on the router. */
const router: Decoder<RouterConfig> = (raw, path, ctx) => {
  const r = routerFields(raw, path, ctx) as RouterConfig;
  if (typeof r.rule === 'string') {
    try {
      compileRule(r.rule, { syntax: r.ruleSyntax ?? 'auto' });
    } catch (err) {
      fail(new PortierError('RULE_SYNTAX', errorMessage(err), { path: `${path}.rule` }), ctx);
    }
  }
  return r;
};

const serviceKinds = object({
  loadBalancer: optional(object(LOAD_BALANCER)),
  weighted: optional(object({ services: list(object({ name: required(string), weight: optional(number) })), sticky: optional(object({ cookie: optional(object(STICKY_COOKIE)) })) })),
});

const service: Decoder<ServiceConfig> = (raw, path, ctx) => {
  const out = serviceKinds(raw, path, ctx);
  const kinds = Object.keys(out);
  if (kinds.length !== 1) fail(configError(path, `expected exactly one of loadBalancer, weighted; got ${kinds.length ? kinds.join(', ') : 'none'}`), ctx);
  return out as ServiceConfig;
};

const middleware: Decoder<MiddlewareConfig> = (raw, path) => {
  if (!isRecord(raw)) throw configError(path, 'expected a map with one middleware type');
  const keys = Object.keys(raw);
  if (keys.length !== 1) throw configError(path, `expected exactly one middleware type, got ${keys.length ? keys.join(', ') : 'none'}`);
  return raw;
};

const serversTransport: Decoder<ServersTransportConfig> = object({
  serverName: optional(string),
  rootCAs: optional(list(string)),
  certificates: optional(list(object({ certFile: required(string), keyFile: required(string) }))),
  insecureSkipVerify: optional(boolean),
  maxIdleConnsPerHost: optional(int),
  disableHTTP2: optional(boolean),
  forwardingTimeouts: optional(object({ dialTimeout: optional(durationString), responseHeaderTimeout: optional(durationString), idleConnTimeout: optional(durationString) })),
});

const tls = object({
  certificates: optional(list(object({ certFile: required(string), keyFile: required(string), stores: optional(list(string)) }))),
  options: optional(
    record(
      object({
        minVersion: optional(string),
        maxVersion: optional(string),
        cipherSuites: optional(list(string)),
        curvePreferences: optional(list(string)),
        sniStrict: optional(boolean),
        alpnProtocols: optional(list(string)),
        clientAuth: optional(object({ caFiles: optional(list(string)), clientAuthType: optional(string) })),
      }),
    ),
  ),
  stores: optional(record(object({ defaultCertificate: optional(object({ certFile: required(string), keyFile: required(string) })) }))),
});

/**
 * What a broken object still shows (the API lists it, disabled, with its
 * errors): whatever of it decoded. Labels keep broken objects the same way.
 */
const SALVAGE: Record<string, (decoded: unknown, raw: unknown) => unknown> = {
  routers: (decoded) => ({ rule: '', ...(isRecord(decoded) ? decoded : {}) }),
  services: (decoded) => (isRecord(decoded) ? decoded : {}),
  middlewares: (_decoded, raw) => (isRecord(raw) ? raw : {}),
  serversTransports: (decoded) => (isRecord(decoded) ? decoded : {}),
};

/**
 * Decodings by raw object: a file re-read keeps the objects of its unchanged
 * parts (config/yaml.ts), so those decode once. Decoders are pure and raw
 * values are never changed after parsing, which is what makes this sound.
 */
const decodings = new WeakMap<object, Remembered>();

/**
 * A decoding and what it was decoded as, one object per decoded object (a
 * file keeps 20,000 at 10,000 routers), its empty lists shared. Read only.
 */
interface Remembered extends Decoding<unknown> {
  section: string;
  name: string;
  decode: Decoder<unknown>;
}
const NO_FAULTS = Object.freeze([]) as unknown as PortierError[];

/** `http.<section>.<name>`, decoded or remembered: the path is in its errors, so it is part of what is remembered. */
function decodeOnce<T>(decode: Decoder<T>, raw: unknown, section: string, name: string): Decoding<T> {
  if (!isRecord(raw)) return decodeAll(decode, raw, `http.${section}.${name}`);
  const hit = decodings.get(raw);
  if (hit && hit.name === name && hit.section === section && hit.decode === decode) return hit as Decoding<T>;
  const { value, errors, warnings } = decodeAll(decode, raw, `http.${section}.${name}`);
  const remembered: Remembered = { section, name, decode, value, errors: errors.length ? errors : NO_FAULTS, warnings: warnings.length ? warnings : NO_FAULTS };
  decodings.set(raw, remembered);
  return remembered as Decoding<T>;
}

export interface DecodedDynamic {
  config: DynamicConfig;
  /**
   * Per object (`routers.api`): the object is in `config` as far as it could
   * be read, and disabled. Key `file`: the file's shape is wrong (an unknown
   * section, a bad `tls` section), so its content cannot be trusted as a whole.
   */
  errors: Record<string, string[]>;
  /** Accepted but not applied, or deprecated, per object (`routers.api`): shown on the object in the API. */
  warnings: Record<string, string[]>;
  /** Every error, as `errors` has them. */
  all: PortierError[];
}

/**
 * Decodes a dynamic configuration. `locate` turns a field path into the
 * position it was written at (`file:line: http.routers.api.rule: …`), so
 * that the messages shown on objects say where to look.
 */
export function decodeDynamic(raw: unknown, locate: (err: PortierError) => PortierError = (e) => e): DecodedDynamic {
  const out: DecodedDynamic = { config: {}, errors: {}, warnings: {}, all: [] };
  const refuse = (key: string, err: PortierError): void => {
    const located = locate(err);
    (out.errors[key] ??= []).push(located.message);
    out.all.push(located);
  };
  const warn = (key: string, w: PortierError): void => void (out.warnings[key] ??= []).push(locate(w).message);
  if (raw === null || raw === undefined) return out;
  const shape = decodeAll(object({ http: optional(record((v) => v)), tls: optional((v) => v), tcp: optional((v) => v), udp: optional((v) => v) }), raw, '');
  if (shape.errors.length) {
    for (const e of shape.errors) refuse('file', e);
    return out;
  }
  const top = raw as Record<string, unknown>;
  // Said, and local to that section: the HTTP part of the file serves.
  if (top.udp !== undefined && top.udp !== null) out.config.udp = decodeUdp(top.udp, refuse, warn);
  if (top.tcp !== undefined && top.tcp !== null) out.config.tcp = decodeTcpSection(top.tcp, refuse, warn);
  const http = top.http;
  if (http !== undefined && http !== null) {
    if (!isRecord(http)) refuse('file', configError('http', 'expected a map'));
    else {
      const known = ['routers', 'services', 'middlewares', 'serversTransports'];
      for (const k of Object.keys(http)) if (!known.includes(k)) refuse('file', configError(`http.${k}`, 'unknown key', 'CONFIG_UNKNOWN_KEY'));
      const section = <T>(key: string, decode: Decoder<T>): Record<string, T> | undefined => {
        const items = http[key];
        if (items === undefined || items === null) return undefined;
        if (!isRecord(items)) {
          refuse('file', configError(`http.${key}`, 'expected a map of names'));
          return undefined;
        }
        const result: Record<string, T> = {};
        for (const name in items) {
          if (!Object.hasOwn(items, name)) continue;
          const value = items[name];
          if (name.includes('@')) {
            refuse(`${key}.${name}`, configError(`http.${key}.${name}`, 'a name may not contain "@"'));
            continue;
          }
          const d = decodeOnce(decode, value, key, name);
          if (d.warnings.length || d.errors.length) {
            for (const w of d.warnings) warn(`${key}.${name}`, w);
            for (const e of d.errors) refuse(`${key}.${name}`, e);
          }
          result[name] = (d.errors.length ? SALVAGE[key](d.value, value) : d.value) as T;
        }
        return result;
      };
      out.config.http = {
        routers: section('routers', router),
        services: section('services', service),
        middlewares: section('middlewares', middleware),
        serversTransports: section('serversTransports', serversTransport),
      };
    }
  }
  if (top.tls !== undefined && top.tls !== null) {
    const d = decodeAll(tls, top.tls, 'tls');
    for (const e of d.errors) refuse('file', e);
    for (const w of d.warnings) warn('file', w);
    if (!d.errors.length) out.config.tls = d.value as DynamicConfig['tls'];
  }
  return out;
}
