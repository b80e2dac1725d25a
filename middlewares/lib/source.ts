import { int, list, object, optional, string, boolean, withDefault } from '../../src/config/decode';
import type { Decoder } from '../../src/config/decode';
import type { Exchange } from '../../src/proxy/exchange';
import { cidrOption, ipSet, normalizeIp } from './ipnet';
import { check } from './decoders';

/**
 * Traefik's `ipStrategy`: which address of a request counts as its source.
 * `depth` picks the n-th X-Forwarded-For entry from the right,
 * `excludedIPs` the first one from the right not in the listed ranges;
 * without either, the client address the entrypoint determined.
 */
export const ipStrategyOptions = object({
  depth: withDefault(check(int, (n) => n >= 0, 'must not be negative'), 0),
  excludedIPs: withDefault(list(cidrOption), [] as string[]),
  ipv6Subnet: optional(check(int, (n) => n >= 0 && n <= 128, 'must be between 0 and 128')),
});
export type IpStrategyOptions = ReturnType<typeof ipStrategyOptions>;

export type IpPicker = (ex: Exchange) => string;

export function ipPicker(opts: IpStrategyOptions | undefined): IpPicker {
  if (opts === undefined) return (ex) => normalizeIp(ex.clientIp);
  const excluded = opts.excludedIPs.length > 0 ? ipSet(opts.excludedIPs) : undefined;
  const subnet = opts.ipv6Subnet;
  const mask = (ip: string): string => (subnet === undefined || !ip.includes(':') ? ip : ipv6Prefix(ip, subnet));
  if (opts.depth > 0) {
    return (ex) => {
      const chain = forwardedFor(ex);
      return mask(chain.length >= opts.depth ? chain[chain.length - opts.depth] : '');
    };
  }
  if (excluded) {
    return (ex) => {
      const chain = forwardedFor(ex);
      for (let i = chain.length - 1; i >= 0; i--) if (!excluded.contains(chain[i])) return mask(chain[i]);
      return '';
    };
  }
  return (ex) => mask(normalizeIp(ex.clientIp));
}

/**
 * X-Forwarded-For as the client sent it: the entrypoint has already
 * appended the peer address, which Traefik's depth counting does not
 * include, so that last entry is dropped.
 */
function forwardedFor(ex: Exchange): string[] {
  const raw = ex.req.headers['x-forwarded-for'];
  const joined = Array.isArray(raw) ? raw.join(',') : raw ?? '';
  const chain = joined.split(',').map((s) => normalizeIp(s)).filter((s) => s !== '');
  if (chain.length > 0 && chain[chain.length - 1] === normalizeIp(ex.remoteIp)) chain.pop();
  return chain;
}

/** The first `bits` bits of an IPv6 address, so that one host's /64 counts as one source. */
function ipv6Prefix(ip: string, bits: number): string {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const words = groups.map((g) => parseInt(g || '0', 16));
  const out = words.map((w, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return (keep === 0 ? 0 : w & (0xffff << (16 - keep)) & 0xffff).toString(16);
  });
  return `${out.join(':')}/${bits}`;
}

/** Traefik's `sourceCriterion`: ipStrategy, a request header's value, or the request host. */
export const sourceCriterionOptions = object({
  ipStrategy: optional(ipStrategyOptions),
  requestHeaderName: optional(string),
  requestHost: withDefault(boolean, false),
});
export type SourceCriterionOptions = ReturnType<typeof sourceCriterionOptions>;

export const optionalSourceCriterion: Decoder<SourceCriterionOptions | undefined> = optional(sourceCriterionOptions);

export function sourceExtractor(opts: SourceCriterionOptions | undefined): (ex: Exchange) => string {
  if (opts?.requestHeaderName !== undefined && opts.requestHeaderName !== '') {
    const name = opts.requestHeaderName.toLowerCase();
    return (ex) => {
      const v = ex.req.headers[name];
      return Array.isArray(v) ? v.join(',') : v ?? '';
    };
  }
  if (opts?.requestHost) return (ex) => ex.match.host;
  return ipPicker(opts?.ipStrategy);
}
