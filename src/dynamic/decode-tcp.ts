import {
  boolean, decodeAll, duration, fail, ignored, int, isRecord, list, number, object, oneOf, optional, required, string, type Decoder,
} from '../config/decode';
import { configError, errorMessage, PortierError } from '../errors';
import { compileTcpRule } from '../rules/tcp-compile';
import type { TcpConfig, TcpMiddlewareConfig, TcpRouterConfig, TcpServiceConfig } from './model';

/**
 * The `tcp` section's schema (Traefik v3's keys), one decoder per object as
 * for `http` (decode-dynamic.ts): files decode through it whole, labels
 * (label-tcp.ts) field by field, so a value means the same from both.
 */

const durationString: Decoder<string> = (raw, path) => {
  const s = string(raw, path).trim();
  // Traefik's terminationDelay may be negative: no bound.
  duration(s.startsWith('-') ? s.slice(1) : s, path);
  return s;
};

/** `host:port` (an IPv6 host in brackets). */
export const tcpAddress: Decoder<string> = (raw, path) => {
  const s = string(raw, path).trim();
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw configError(path, `expected host:port, got ${JSON.stringify(s)}`);
  return s;
};

export const proxyVersion: Decoder<1 | 2> = (raw, path) => {
  const n = int(raw, path);
  if (n !== 1 && n !== 2) throw configError(path, `expected 1 or 2, got ${n}`);
  return n;
};

export const TCP_ROUTER_TLS = {
  passthrough: optional(boolean),
  certResolver: optional(string),
  options: optional(string),
  domains: optional(list(object({ main: required(string), sans: optional(list(string)) }))),
};

export const TCP_ROUTER = {
  rule: required(string),
  ruleSyntax: optional(oneOf('v2', 'v3')),
  entryPoints: optional(list(string)),
  middlewares: optional(list(string)),
  service: optional(string),
  priority: optional(int),
  tls: optional(object(TCP_ROUTER_TLS)),
};

export const TCP_SERVER = { address: required(tcpAddress), tls: optional(boolean), weight: optional(int) };

export const TCP_HEALTH_CHECK = {
  port: optional(int),
  interval: optional(durationString),
  unhealthyInterval: optional(durationString),
  timeout: optional(durationString),
  send: optional(string),
  expect: optional(string),
};

export const TCP_LOAD_BALANCER = {
  servers: list(object(TCP_SERVER)),
  serversTransport: optional(string),
  proxyProtocol: optional(object({ version: optional(proxyVersion) })),
  terminationDelay: optional(int),
  healthCheck: optional(object(TCP_HEALTH_CHECK)),
};

export const TCP_SERVERS_TRANSPORT = {
  dialTimeout: optional(durationString),
  dialKeepAlive: optional(durationString),
  terminationDelay: optional(durationString),
  proxyProtocol: optional(object({ version: optional(proxyVersion) })),
  tls: optional(object({
    serverName: optional(string),
    insecureSkipVerify: optional(boolean),
    rootCAs: optional(list(string)),
    certificates: optional(list(object({ certFile: required(string), keyFile: required(string) }))),
    peerCertURI: optional(string),
    spiffe: ignored('SPIFFE is not supported'),
  })),
  spiffe: ignored('SPIFFE is not supported'),
};

/** Deprecated in Traefik v3 in favour of the serversTransport's keys, still applied there. */
const DEPRECATED_LB = ['proxyProtocol', 'terminationDelay'] as const;

const routerFields = object(TCP_ROUTER);

const router: Decoder<TcpRouterConfig> = (raw, path, ctx) => {
  const r = routerFields(raw, path, ctx) as TcpRouterConfig;
  if (typeof r.rule === 'string') {
    try {
      compileTcpRule(r.rule, r.ruleSyntax ?? 'auto');
    } catch (err) {
      fail(new PortierError('RULE_SYNTAX', errorMessage(err), { path: `${path}.rule` }), ctx);
    }
  }
  return r;
};

const serviceKinds = object({
  loadBalancer: optional(object(TCP_LOAD_BALANCER)),
  weighted: optional(object({ services: list(object({ name: required(string), weight: optional(number) })) })),
});

const service: Decoder<TcpServiceConfig> = (raw, path, ctx) => {
  const out = serviceKinds(raw, path, ctx) as TcpServiceConfig;
  const kinds = Object.keys(out);
  if (kinds.length !== 1) fail(configError(path, `expected exactly one of loadBalancer, weighted; got ${kinds.length ? kinds.join(', ') : 'none'}`), ctx);
  for (const k of DEPRECATED_LB) {
    if (out.loadBalancer?.[k] !== undefined) ctx?.warn(`${path}.loadBalancer.${k}`, `deprecated in Traefik v3 (use a serversTransport's ${k}); applied`);
  }
  return out;
};

export const TCP_MIDDLEWARE_TYPES = ['ipAllowList', 'ipWhiteList', 'inFlightConn'];

const middleware: Decoder<TcpMiddlewareConfig> = (raw, path) => {
  if (!isRecord(raw)) throw configError(path, 'expected a map with one middleware type');
  const keys = Object.keys(raw);
  if (keys.length !== 1) throw configError(path, `expected exactly one middleware type, got ${keys.length ? keys.join(', ') : 'none'}`);
  if (!TCP_MIDDLEWARE_TYPES.some((t) => t.toLowerCase() === keys[0].toLowerCase())) {
    throw configError(`${path}.${keys[0]}`, `unknown TCP middleware type (TCP middlewares: ${TCP_MIDDLEWARE_TYPES.join(', ')})`);
  }
  return raw;
};

export const TCP_DECODERS: Record<string, Decoder<unknown>> = {
  routers: router,
  services: service,
  middlewares: middleware,
  serversTransports: object(TCP_SERVERS_TRANSPORT),
};

/** The object keys of a snapshot's errors and warnings for TCP objects: `tcp.routers.<name>`. */
export const tcpKey = (kind: string, name: string): string => `tcp.${kind}.${name}`;

/** What a broken object still shows in the API (disabled, with its errors): whatever of it decoded. */
const salvage = (kind: string, decoded: unknown, raw: unknown): unknown => {
  if (kind === 'routers') return { rule: '', ...(isRecord(decoded) ? decoded : {}) };
  if (kind === 'middlewares') return isRecord(raw) ? raw : {};
  return isRecord(decoded) ? decoded : {};
};

type Report = (key: string, err: PortierError) => void;

/**
 * The `tcp` section of a dynamic file: each object decoded on its own, its
 * errors and warnings keyed `tcp.<kind>.<name>`; a wrong shape of the
 * section itself is the file's error.
 */
export function decodeTcpSection(raw: unknown, refuse: Report, warn: Report): TcpConfig | undefined {
  if (!isRecord(raw)) {
    refuse('file', configError('tcp', 'expected a map'));
    return undefined;
  }
  for (const k of Object.keys(raw)) if (!(k in TCP_DECODERS)) refuse('file', configError(`tcp.${k}`, 'unknown key', 'CONFIG_UNKNOWN_KEY'));
  const out: Record<string, Record<string, unknown>> = {};
  for (const [kind, decode] of Object.entries(TCP_DECODERS)) {
    const items = raw[kind];
    if (items === undefined || items === null) continue;
    if (!isRecord(items)) {
      refuse('file', configError(`tcp.${kind}`, 'expected a map of names'));
      continue;
    }
    const section: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(items)) {
      const path = `tcp.${kind}.${name}`;
      if (name.includes('@')) {
        refuse(tcpKey(kind, name), configError(path, 'a name may not contain "@"'));
        continue;
      }
      const d = decodeAll(decode, value, path);
      for (const w of d.warnings) warn(tcpKey(kind, name), w);
      for (const e of d.errors) refuse(tcpKey(kind, name), e);
      section[name] = d.errors.length ? salvage(kind, d.value, value) : d.value;
    }
    out[kind] = section;
  }
  return out as TcpConfig;
}
