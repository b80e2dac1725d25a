import {
  boolean, duration, int, list, object, oneOf, optional, record, required, string, number, isRecord, Decoder,
} from '../config/decode';
import { configError, PortierError, errorMessage } from '../errors';
import { compileRule } from '../rules/compile';
import type { DynamicConfig, RouterConfig, ServiceConfig, MiddlewareConfig } from './model';

/**
 * Decodes a dynamic configuration written by hand (file provider) or built
 * from labels, one object at a time, so that an error disables only the
 * router, service or middleware it is in. Middleware options are checked
 * later by their own type's decoder; here only the one-type-key shape.
 */

const H2C = 'h2c is not supported: Portier speaks HTTP/1.1 to servers (no HTTP/2 upstream); use http or https';

/** A server or health-check scheme; shared with the label decoder so both refuse h2c alike. */
export const upstreamScheme: Decoder<'http' | 'https'> = (raw, path) => {
  if (string(raw, path).toLowerCase() === 'h2c') throw configError(path, H2C);
  return oneOf('http', 'https')(raw, path);
};

/** Refused rather than ignored: a gRPC server fails every HTTP check, so its service would answer 503. */
export const healthCheckMode: Decoder<'http'> = (raw, path) => {
  if (string(raw, path).toLowerCase() === 'grpc') {
    throw configError(path, 'grpc is not supported: Portier only sends HTTP health checks, which a gRPC server fails (its service would answer 503); use http');
  }
  return oneOf('http')(raw, path);
};

/** Checked here so that a bad value is reported with its path rather than when the service starts. */
export const durationString: Decoder<string> = (raw, path) => {
  duration(raw, path);
  return string(raw, path);
};

/** A host name or IPv4 address, optionally with Go's tolerated leading dot; anything else could inject cookie attributes. */
export const cookieDomain: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  if (!/^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i.test(s)) throw configError(path, `expected a domain name, got ${JSON.stringify(s)}`);
  return s;
};

const stickyCookie = object({
  name: optional(string),
  secure: optional(boolean),
  httpOnly: optional(boolean),
  sameSite: optional(oneOf('none', 'lax', 'strict', '')),
  maxAge: optional(int),
  path: optional(string),
  domain: optional(cookieDomain),
});

const serverUrl: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw configError(path, `invalid URL ${JSON.stringify(s)}`);
  }
  if (u.protocol === 'h2c:') throw configError(path, H2C);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw configError(path, `unsupported scheme ${u.protocol} (http, https)`);
  if (!u.hostname) throw configError(path, `URL ${JSON.stringify(s)} has no host`);
  return s;
};

const routerFields = object({
  rule: required(string),
  ruleSyntax: optional(oneOf('v2', 'v3')),
  entryPoints: optional(list(string)),
  middlewares: optional(list(string)),
  service: optional(string),
  priority: optional(int),
  tls: optional(
    object({
      certResolver: optional(string),
      options: optional(string),
      domains: optional(list(object({ main: required(string), sans: optional(list(string)) }))),
    }),
  ),
  observability: optional(object({ accessLogs: optional(boolean), metrics: optional(boolean), tracing: optional(boolean) })),
});

/** A router's rule is checked here too, so that a file with a bad rule is reported with its line. */
const router: Decoder<RouterConfig> = (raw, path) => {
  const r = routerFields(raw, path) as RouterConfig;
  try {
    compileRule(r.rule, { syntax: r.ruleSyntax ?? 'auto' });
  } catch (err) {
    throw new PortierError('RULE_SYNTAX', errorMessage(err), { path: `${path}.rule` });
  }
  return r;
};

const loadBalancer = object({
  servers: list(object({ url: required(serverUrl), weight: optional(int), preservePath: optional(boolean) })),
  passHostHeader: optional(boolean),
  healthCheck: optional(
    object({
      path: required(string),
      scheme: optional(upstreamScheme),
      mode: optional(healthCheckMode),
      hostname: optional(string),
      port: optional(int),
      method: optional(string),
      status: optional(int),
      interval: optional(durationString),
      unhealthyInterval: optional(durationString),
      timeout: optional(durationString),
      headers: optional(record(string)),
      followRedirects: optional(boolean),
    }),
  ),
  sticky: optional(object({ cookie: optional(stickyCookie) })),
  serversTransport: optional(string),
  responseForwarding: optional(object({ flushInterval: optional(string) })),
  strategy: optional(oneOf('wrr')),
});

const service: Decoder<ServiceConfig> = (raw, path) => {
  const out = object({
    loadBalancer: optional(loadBalancer),
    weighted: optional(object({ services: list(object({ name: required(string), weight: optional(number) })), sticky: optional(object({ cookie: optional(stickyCookie) })) })),
  })(raw, path);
  const kinds = Object.keys(out);
  if (kinds.length !== 1) throw configError(path, `expected exactly one of loadBalancer, weighted; got ${kinds.length ? kinds.join(', ') : 'none'}`);
  return out as ServiceConfig;
};

const middleware: Decoder<MiddlewareConfig> = (raw, path) => {
  if (!isRecord(raw)) throw configError(path, 'expected a map with one middleware type');
  const keys = Object.keys(raw);
  if (keys.length !== 1) throw configError(path, `expected exactly one middleware type, got ${keys.length ? keys.join(', ') : 'none'}`);
  return raw;
};

const serversTransport = object({
  serverName: optional(string),
  rootCAs: optional(list(string)),
  certificates: optional(list(object({ certFile: required(string), keyFile: required(string) }))),
  insecureSkipVerify: optional(boolean),
  maxIdleConnsPerHost: optional(int),
  forwardingTimeouts: optional(object({ dialTimeout: optional(string), responseHeaderTimeout: optional(string), idleConnTimeout: optional(string) })),
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
      }),
    ),
  ),
  stores: optional(record(object({ defaultCertificate: optional(object({ certFile: required(string), keyFile: required(string) })) }))),
});

export interface DecodedDynamic {
  config: DynamicConfig;
  /** Per object (`routers.api`), or `file` for errors outside any object. */
  errors: Record<string, string[]>;
  /** Accepted but not applied, per object (`routers.api`): shown on the object in the API. */
  warnings: Record<string, string[]>;
  /** Every error as a PortierError with its field path, for file:line reporting. */
  all: PortierError[];
}

export function decodeDynamic(raw: unknown): DecodedDynamic {
  const out: DecodedDynamic = { config: {}, errors: {}, warnings: {}, all: [] };
  const fail = (key: string, err: unknown): void => {
    if (!(err instanceof PortierError)) throw err;
    (out.errors[key] ??= []).push(err.message);
    out.all.push(err);
  };
  if (raw === null || raw === undefined) return out;
  try {
    object({ http: optional(record((v) => v)), tls: optional((v) => v), tcp: optional((v) => v), udp: optional((v) => v) })(raw, '');
  } catch (err) {
    fail('file', err);
    return out;
  }
  const top = raw as Record<string, unknown>;
  if (top.tcp || top.udp) fail('file', configError(top.tcp ? 'tcp' : 'udp', 'TCP and UDP routing are not supported yet'));
  const http = top.http;
  if (http !== undefined && http !== null) {
    if (!isRecord(http)) fail('file', configError('http', 'expected a map'));
    else {
      const known = ['routers', 'services', 'middlewares', 'serversTransports'];
      for (const k of Object.keys(http)) if (!known.includes(k)) fail('file', configError(`http.${k}`, 'unknown key', 'CONFIG_UNKNOWN_KEY'));
      const section = <T>(key: string, decode: Decoder<T>): Record<string, T> | undefined => {
        const items = http[key];
        if (items === undefined || items === null) return undefined;
        if (!isRecord(items)) {
          fail('file', configError(`http.${key}`, 'expected a map of names'));
          return undefined;
        }
        const result: Record<string, T> = {};
        for (const [name, value] of Object.entries(items)) {
          const kind = key === 'serversTransports' ? 'serversTransports' : key;
          try {
            if (name.includes('@')) throw configError(`http.${key}.${name}`, 'a name may not contain "@"');
            result[name] = decode(value, `http.${key}.${name}`);
          } catch (err) {
            fail(`${kind}.${name}`, err);
          }
        }
        return result;
      };
      out.config.http = {
        routers: section('routers', router),
        services: section('services', service),
        middlewares: section('middlewares', middleware),
        serversTransports: section('serversTransports', serversTransport),
      };
      for (const [name, r] of Object.entries(out.config.http.routers ?? {})) {
        // Accepted so a Traefik file loads unchanged, and said: every router is in the access log and metrics.
        if (r.observability) (out.warnings[`routers.${name}`] ??= []).push('observability: per-router observability is not supported, ignored');
      }
    }
  }
  if (top.tls !== undefined && top.tls !== null) {
    try {
      out.config.tls = tls(top.tls, 'tls') as DynamicConfig['tls'];
    } catch (err) {
      fail('file', err);
    }
  }
  return out;
}
