import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { RequestRecord } from '../server/observer';
import type { StaticConfig } from '../config/static';
import { peerOf } from '../server/connection-router';

export type AccessLogConfig = NonNullable<StaticConfig['accessLog']>;
type Mode = 'keep' | 'drop' | 'redact';

/** Headers whose values are secrets: redacted even when headers are kept, unless named explicitly. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** Go's canonical header form (`x-forwarded-for` → `X-Forwarded-For`), which Traefik's field names use. */
export const canonicalHeader = (name: string): string => name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());

const hostPort = (addr: string): [string, string] => {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(addr);
  return m ? [m[1], m[2] ?? '-'] : [addr, '-'];
};

const basicUser = (auth: string | undefined): string => {
  if (!auth || !/^basic /i.test(auth)) return '-';
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString();
  const i = decoded.indexOf(':');
  return i > 0 ? decoded.slice(0, i) : '-';
};

const localIso = (d: Date): string => {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const pad = (n: number, w = 2): string => String(Math.abs(Math.trunc(n))).padStart(w, '0');
  const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, -1);
  return `${local}${sign}${pad(off / 60)}:${pad(off % 60)}`;
};

/** The fields of one finished request, under Traefik's access-log names. */
export function accessLogFields(r: RequestRecord, requestCount: number, now = Date.now()): Record<string, unknown> {
  const { ex } = r;
  const start = new Date(now - r.durationMs);
  const durationNs = Math.round(r.durationMs * 1e6);
  // An upgraded connection is spliced, not parsed: its whole life is the origin's.
  const origin = ex.upgrade && ex.serverUrl !== undefined ? { status: r.status, bytes: r.bytesOut, durationNs } : ex.origin;
  const originNs = Math.min(durationNs, origin.durationNs);
  const requestAddr = String(ex.req.headers.host ?? ex.match.host);
  const [requestHost, requestPort] = hostPort(requestAddr);
  let serviceAddr = '';
  if (ex.serverUrl) {
    try {
      serviceAddr = new URL(ex.serverUrl).host;
    } catch {
      serviceAddr = ex.serverUrl;
    }
  }
  // A trusted PROXY header's client, as for the address.
  const port = peerOf(ex.req.socket)?.port ?? ex.req.socket.remotePort;
  return {
    ClientAddr: `${ex.remoteIp}:${port ?? 0}`,
    ClientHost: ex.clientIp,
    ClientPort: String(port ?? ''),
    ClientUsername: basicUser(ex.req.headers.authorization),
    DownstreamContentSize: r.bytesOut,
    DownstreamStatus: r.status,
    Duration: durationNs,
    OriginContentSize: origin.bytes,
    OriginDuration: originNs,
    OriginStatus: origin.status,
    Overhead: durationNs - originNs,
    RequestAddr: requestAddr,
    RequestContentSize: r.bytesIn,
    RequestCount: requestCount,
    RequestHost: requestHost,
    RequestMethod: ex.req.method ?? '',
    RequestPath: ex.req.url ?? '',
    RequestPort: requestPort,
    RequestProtocol: `HTTP/${ex.req.httpVersion}`,
    RequestScheme: ex.tls ? 'https' : 'http',
    RetryAttempts: ex.retryAttempts,
    ...(ex.routerName ? { RouterName: ex.routerName } : {}),
    ...(serviceAddr ? { ServiceAddr: serviceAddr } : {}),
    ...(ex.serviceName ? { ServiceName: ex.serviceName } : {}),
    ...(ex.serverUrl ? { ServiceURL: ex.serverUrl } : {}),
    StartLocal: localIso(start),
    StartUTC: start.toISOString(),
    entryPointName: ex.entryPoint,
  };
}

/**
 * Applies `fields`: top-level field modes, then the headers
 * (`request_<Header>`, `downstream_<Header>`), secrets redacted unless an
 * explicit name override says otherwise.
 */
export function applyFieldModes(
  fields: Record<string, unknown>,
  requestHeaders: IncomingHttpHeaders,
  responseHeaders: OutgoingHttpHeaders,
  cfg: AccessLogConfig['fields'],
): Record<string, unknown> {
  const defaultMode: Mode = cfg?.defaultMode ?? 'keep';
  const names = lowerKeys(cfg?.names);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    const mode = names.get(k.toLowerCase()) ?? defaultMode;
    if (mode === 'keep') out[k] = v;
    else if (mode === 'redact') out[k] = 'REDACTED';
  }
  const headerDefault: Mode = cfg?.headers?.defaultMode ?? 'drop';
  const headerNames = lowerKeys(cfg?.headers?.names);
  const add = (prefix: string, headers: IncomingHttpHeaders | OutgoingHttpHeaders): void => {
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      const explicit = headerNames.get(lower);
      let mode = explicit ?? headerDefault;
      if (mode === 'keep' && explicit === undefined && SECRET_HEADERS.has(lower)) mode = 'redact';
      if (mode === 'drop') continue;
      out[`${prefix}${canonicalHeader(name)}`] = mode === 'redact' ? 'REDACTED' : Array.isArray(value) ? value.join(', ') : String(value);
    }
  };
  if (headerDefault !== 'drop' || headerNames.size) {
    add('request_', requestHeaders);
    add('downstream_', responseHeaders);
  }
  return out;
}

const lowerKeys = (m: Record<string, Mode> | undefined): Map<string, Mode> => new Map(Object.entries(m ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `02/Jan/2006:15:04:05 -0700`, the CLF timestamp. */
function clfTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const l = new Date(d.getTime() + off * 60_000);
  const p = (n: number): string => String(n).padStart(2, '0');
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `${p(l.getUTCDate())}/${MONTHS[l.getUTCMonth()]}/${l.getUTCFullYear()}:${p(l.getUTCHours())}:${p(l.getUTCMinutes())}:${p(l.getUTCSeconds())} ${sign}${p(Math.trunc(abs / 60))}${p(abs % 60)}`;
}

const dash = (v: unknown): string => (v === undefined || v === null || v === '' ? '-' : String(v));
const quoted = (v: unknown): string => `"${dash(v).replace(/"/g, '\\"')}"`;

/**
 * Traefik's Common Log Format line: CLF plus referer, user agent, the
 * request count, router name, server URL and the duration in ms.
 */
export function commonLogLine(f: Record<string, unknown>, headers: IncomingHttpHeaders): string {
  const start = typeof f.StartUTC === 'string' ? new Date(f.StartUTC) : new Date();
  const ms = typeof f.Duration === 'number' ? Math.round(f.Duration / 1e6) : 0;
  return (
    `${dash(f.ClientHost)} - ${dash(f.ClientUsername)} [${clfTime(start)}] ` +
    `"${dash(f.RequestMethod)} ${dash(f.RequestPath)} ${dash(f.RequestProtocol)}" ${dash(f.DownstreamStatus)} ${dash(f.DownstreamContentSize)} ` +
    `${quoted(headers.referer)} ${quoted(headers['user-agent'])} ${dash(f.RequestCount)} ${quoted(f.RouterName)} ${quoted(f.ServiceURL)} ${ms}ms`
  );
}
