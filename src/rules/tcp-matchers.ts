import { PortierError } from '../errors';
import { matcherTable, type Arg, type Leaf, type MatcherSpec, type MatcherTable } from './ast';
import { argError, regexpArg } from './leaves';
import { compileIpRange } from './ip-range';
import { V3_MATCHERS } from './matchers-v3';

/** What a TCP rule sees of a connection before a byte of it is forwarded. */
export interface TcpMatch {
  /** The ClientHello's server name, lower-cased without a trailing dot; '' for plaintext or no SNI. */
  serverName: string;
  /** The ClientHello's ALPN protocols; none for plaintext. */
  alpn: string[];
  /** The client's address (a trusted PROXY header's source when there was one). */
  clientIp: string;
}

export type TcpLeaf = Leaf<TcpMatch> & {
  /** HostSNI's names (lower-case, `*.` wildcards kept), or `*` for the catch-all. */
  sni?: string[];
};

const q = JSON.stringify;
const ACME_TLS = 'acme-tls/1';
/** Traefik's check of a HostSNI name: a host or IP, optionally `*.` first. */
const HOST_OR_IP = /^(\*\.)?[\w.\-:]+$/;

function hostSni(args: Arg[]): TcpLeaf {
  if (args.length === 1 && args[0].value === '*') return { test: () => true, observed: () => 'matches every connection', sni: ['*'] };
  const names = args.map((a) => {
    if (a.value === '*') throw argError('HostSNI', a, '`*` must be the only argument');
    if (!HOST_OR_IP.test(a.value)) throw argError('HostSNI', a, 'not a valid host name or IP (write IDNs in punycode)');
    return a.value.toLowerCase().replace(/\.$/, '');
  });
  const exact = new Set(names.filter((n) => !n.startsWith('*.')));
  // Traefik's wildcard: the first label of the server name replaced by `*` must give the pattern.
  const wild = names.filter((n) => n.startsWith('*.')).map((n) => n.slice(1));
  const test = (m: TcpMatch): boolean => {
    const name = m.serverName;
    if (name === '') return false;
    if (exact.has(name)) return true;
    const dot = name.indexOf('.');
    return dot >= 0 && wild.includes(name.slice(dot));
  };
  return { test, observed: (m) => `SNI is ${q(m.serverName)}`, sni: names };
}

function hostSniRegexp(arg: Arg): TcpLeaf {
  if (!/^[\x00-\x7f]*$/.test(arg.value)) throw argError('HostSNIRegexp', arg, 'only ASCII is allowed');
  const re = regexpArg('HostSNIRegexp', arg);
  return { test: (m) => re.test(m.serverName), observed: (m) => `SNI is ${q(m.serverName)}` };
}

function clientIp(matcher: string, args: Arg[]): TcpLeaf {
  const ranges = args.map((a) => {
    const r = compileIpRange(a.value.trim());
    if (!r) throw argError(matcher, a, 'not an IP address or CIDR range');
    return r;
  });
  return { test: (m) => ranges.some((r) => r(m.clientIp)), observed: (m) => `client IP is ${q(m.clientIp)}` };
}

function alpn(args: Arg[]): TcpLeaf {
  const protos = args.map((a) => {
    if (a.value === '') throw argError('ALPN', a, 'empty protocol');
    if (a.value === ACME_TLS) throw argError('ALPN', a, `${ACME_TLS} is reserved for ACME TLS-ALPN-01 validation`);
    return a.value;
  });
  return { test: (m) => m.alpn.some((p) => protos.includes(p)), observed: (m) => `ALPN offers ${q(m.alpn)}` };
}

/** HTTP's matchers, named so that a rule copied from an HTTP router says what is wrong with it. */
const httpOnly = (table: MatcherTable): MatcherSpec<TcpMatch>[] =>
  [...table.values()].filter((s) => s.name !== 'ClientIP').map((s) => ({
    name: s.name, minArgs: 0, maxArgs: Infinity,
    build: () => {
      throw new PortierError('RULE_MATCHER', `${s.name} is an HTTP matcher; a TCP router's rule uses HostSNI, HostSNIRegexp, ClientIP and ALPN (a TCP router sees no HTTP request)`);
    },
  }));

const v3: MatcherSpec<TcpMatch>[] = [
  { name: 'HostSNI', minArgs: 1, maxArgs: 1, build: (a) => hostSni(a) },
  { name: 'HostSNIRegexp', minArgs: 1, maxArgs: 1, build: (a) => hostSniRegexp(a[0]) },
  { name: 'ClientIP', minArgs: 1, maxArgs: 1, build: (a) => clientIp('ClientIP', a) },
  { name: 'ALPN', minArgs: 1, maxArgs: 1, build: (a) => alpn(a) },
];

/** Traefik v2 took several arguments per matcher (any of them). */
const v2: MatcherSpec<TcpMatch>[] = [
  { name: 'HostSNI', minArgs: 1, maxArgs: Infinity, build: (a) => hostSni(a) },
  { name: 'HostSNIRegexp', minArgs: 1, maxArgs: 1, build: (a) => hostSniRegexp(a[0]) },
  { name: 'ClientIP', minArgs: 1, maxArgs: Infinity, build: (a) => clientIp('ClientIP', a) },
  { name: 'ALPN', minArgs: 1, maxArgs: Infinity, build: (a) => alpn(a) },
];

export const TCP_MATCHERS = { v3: matcherTable([...v3, ...httpOnly(V3_MATCHERS)]), v2: matcherTable([...v2, ...httpOnly(V3_MATCHERS)]) };
