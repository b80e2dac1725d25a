import { decodeAll, fail, int, isRecord, list, object, optional, required, string, type Decoder } from '../config/decode';
import { configError, type PortierError } from '../errors';
import type { UdpConfig, UdpRouterConfig, UdpServiceConfig } from '../dynamic/model';
import { splitHostPort } from './address';

/**
 * The `udp` section of the dynamic configuration, in Traefik's shape.
 * Labels (label-udp.ts) decode their values with the same field decoders,
 * so a value means and validates the same from a file and from a label.
 * Errors stay on their router or service (`udp.routers.<n>`).
 */

/** `host:port`; Traefik skips a server it cannot split, Portier says so on the service. */
export const udpServerAddress: Decoder<string> = (raw, path) => {
  const s = string(raw, path).trim();
  if (!splitHostPort(s)) throw configError(path, `expected host:port (IPv6 in brackets), got ${JSON.stringify(s)}`);
  return s;
};

/** Said plainly: a Traefik HTTP/TCP habit that has no meaning here. */
const noRule: Decoder<undefined> = (raw, path) => {
  if (raw === undefined) return undefined;
  throw configError(path, 'UDP routers have no rule: every datagram on the entrypoint goes to its UDP router', 'CONFIG_UNKNOWN_KEY');
};

const weight: Decoder<number> = (raw, path) => {
  const n = int(raw, path);
  if (n < 0) throw configError(path, `expected a weight of 0 or more, got ${n}`);
  return n;
};

export const UDP_ROUTER = { entryPoints: optional(list(string)), service: optional(string), rule: noRule };
export const UDP_SERVER = { address: required(udpServerAddress) };
export const UDP_WEIGHTED_SERVICE = { name: required(string), weight: optional(weight) };

const router = object(UDP_ROUTER) as Decoder<UdpRouterConfig>;

const serviceKinds = object({
  loadBalancer: optional(object({ servers: list(object(UDP_SERVER)) })),
  weighted: optional(object({ services: list(object(UDP_WEIGHTED_SERVICE)) })),
});

const service: Decoder<UdpServiceConfig> = (raw, path, ctx) => {
  const out = serviceKinds(raw, path, ctx);
  const kinds = Object.keys(out);
  if (kinds.length !== 1) fail(configError(path, `expected exactly one of loadBalancer, weighted; got ${kinds.length ? kinds.join(', ') : 'none'}`), ctx);
  return out as UdpServiceConfig;
};

type Report = (key: string, err: PortierError) => void;

/**
 * Decodes `udp:`; each router and service on its own, a broken one kept with
 * what could be read. `refuse` takes an object's key (`udp.routers.dns`) or
 * `file` for a section whose shape is wrong.
 */
export function decodeUdp(raw: unknown, refuse: Report, warn: Report): UdpConfig | undefined {
  const sink = { refuse, warn };
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) {
    sink.refuse('file', configError('udp', 'expected a map'));
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (k !== 'routers' && k !== 'services') sink.refuse('file', configError(`udp.${k}`, 'unknown key (UDP has routers and services only)', 'CONFIG_UNKNOWN_KEY'));
  }
  const section = <T>(key: 'routers' | 'services', decode: Decoder<T>): Record<string, T> | undefined => {
    const items = raw[key];
    if (items === undefined || items === null) return undefined;
    if (!isRecord(items)) {
      sink.refuse('file', configError(`udp.${key}`, 'expected a map of names'));
      return undefined;
    }
    const out: Record<string, T> = {};
    for (const [name, value] of Object.entries(items)) {
      const path = `udp.${key}.${name}`;
      if (name.includes('@')) {
        sink.refuse(path, configError(path, 'a name may not contain "@"'));
        continue;
      }
      const d = decodeAll(decode, value, path);
      for (const w of d.warnings) sink.warn(path, w);
      for (const e of d.errors) sink.refuse(path, e);
      out[name] = (d.value ?? {}) as T;
    }
    return out;
  };
  return { routers: section('routers', router), services: section('services', service) };
}
