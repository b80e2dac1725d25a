import { decodeAll, int, list, object, required, string, type Decoder } from '../config/decode';
import { configError, PortierError } from '../errors';
import { compileIpRange } from '../rules/ip-range';
import { refuse, type TcpMiddleware } from './conn';

/**
 * Traefik's TCP middlewares: `ipAllowList` (v2's `ipWhiteList`, with a
 * warning) and `inFlightConn`. A refused connection is closed without a
 * byte, as in Traefik.
 */

const sourceRange: Decoder<string[]> = (raw, path, ctx) => {
  const ranges = list(string)(raw, path, ctx);
  ranges.forEach((r, i) => {
    if (!compileIpRange(r.trim())) throw configError(`${path}[${i}]`, `not an IP address or CIDR range: ${JSON.stringify(r)}`);
  });
  return ranges;
};

const ALLOW = object({ sourceRange: required(sourceRange) });
const IN_FLIGHT = object({ amount: required(int) });

export interface BuiltTcpMiddleware {
  type: string;
  middleware?: TcpMiddleware;
  errors: string[];
  warnings: string[];
}

function allowList(options: { sourceRange: string[] }): TcpMiddleware {
  const tests = options.sourceRange.map((r) => compileIpRange(r.trim())!);
  return (next) => (conn) => {
    if (tests.some((t) => t(conn.clientIp))) return next(conn);
    refuse(conn, `client ${conn.clientIp} is not in ipAllowList`);
  };
}

/** Per client IP; the count lives as long as the middleware (kept across reloads while its options are unchanged). */
function inFlight(options: { amount: number }): TcpMiddleware {
  const open = new Map<string, number>();
  return (next) => (conn) => {
    const n = open.get(conn.clientIp) ?? 0;
    if (n >= options.amount) return refuse(conn, `client ${conn.clientIp} has ${n} connections open (inFlightConn.amount ${options.amount})`);
    open.set(conn.clientIp, n + 1);
    conn.socket.once('close', () => {
      const left = (open.get(conn.clientIp) ?? 1) - 1;
      if (left > 0) open.set(conn.clientIp, left);
      else open.delete(conn.clientIp);
    });
    next(conn);
  };
}

/** A TCP middleware from its config (`{ <type>: options }`), its option errors each naming their path. */
export function buildTcpMiddleware(config: Record<string, unknown>, path: string): BuiltTcpMiddleware {
  const [key] = Object.keys(config);
  const type = key?.toLowerCase();
  const decode = <T>(d: Decoder<T>, canonical: string): { value?: T; errors: string[]; warnings: string[] } => {
    const r = decodeAll(d, config[key], `${path}.${canonical}`);
    return { value: r.errors.length ? undefined : r.value, errors: r.errors.map((e: PortierError) => e.message), warnings: r.warnings.map((w) => w.message) };
  };
  if (type === 'ipallowlist' || type === 'ipwhitelist') {
    const d = decode(ALLOW, key);
    if (type === 'ipwhitelist') d.warnings.push('ipWhiteList is deprecated in Traefik v3 (use ipAllowList); applied');
    return { type: 'IPAllowList', middleware: d.value && allowList(d.value), errors: d.errors, warnings: d.warnings };
  }
  if (type === 'inflightconn') {
    const d = decode(IN_FLIGHT, key);
    if (d.value && d.value.amount < 1) d.errors.push(`${path}.${key}.amount: expected at least 1, got ${d.value.amount}`);
    return { type: 'InFlightConn', middleware: d.errors.length ? undefined : inFlight(d.value!), errors: d.errors, warnings: d.warnings };
  }
  return { type: key ?? '', errors: [`unknown TCP middleware type ${JSON.stringify(key)} (ipAllowList, inFlightConn)`], warnings: [] };
}
