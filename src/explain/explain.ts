import type { IncomingHttpHeaders } from 'node:http';
import type { RoutingTable } from '../routing/table';
import type { RouterRuntime } from '../routing/runtime';
import type { MatchRequest } from '../rules/types';
import { normalizeHost } from '../rules/routing-path';
import { normalizeTarget } from '../server/normalize';
import { PortierError } from '../errors';
import { explainTcp, type ExplainedTcp } from './explain-tcp';

export interface ExplainQuery {
  url: string;
  method?: string;
  /** `Name: value` lines, as curl's -H. */
  headers?: string[];
  entryPoint?: string;
  clientIp?: string;
}

/** Entrypoints a request may arrive on; `port` is the one it listens on. */
export interface ExplainEntryPoint {
  name: string;
  port: number;
  /** Terminates TLS: every router on it serves, `tls` set or not. */
  tls: boolean;
}

export interface ExplainedRouter {
  router: string;
  rule: string;
  priority: number;
  entryPoints: string[];
  status: string;
  /** One line per matcher: `✓ Host(`a`)` or `✗ Path(`/x`): path is /y`. */
  lines: string[];
  reason: string;
}

export interface ExplainResult {
  request: { url: string; method: string; host: string; path: string; entryPoint: string; tls: boolean };
  match?: ExplainedRouter & {
    middlewares: { name: string; type: string; status: string }[];
    service: string;
    serviceStatus: string;
    /** The servers the balancer would choose among: the service's UP servers. */
    servers: string[];
    downServers: string[];
  };
  nearMisses: ExplainedRouter[];
  /** TCP routers choose first: present when the entrypoint has TCP routers of the connection's kind (docs/tcp.md). */
  tcp?: ExplainedTcp;
}

const INTERNAL_ENTRYPOINTS = new Set(['traefik', 'metrics']);
const NEAR_MISS_LIMIT = 20;

/** Builds what a rule sees of a request to `url`, as the entrypoint would. */
export function matchRequestFor(q: ExplainQuery): { match: MatchRequest; url: URL } {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(q.url) ? q.url : `http://${q.url}`);
  } catch {
    throw new PortierError('BAD_REQUEST', `explain: not a URL: ${JSON.stringify(q.url)}`, { status: 400 });
  }
  const headers: IncomingHttpHeaders = {};
  for (const [i, h] of (q.headers ?? []).entries()) {
    const at = h.indexOf(':');
    if (at <= 0) throw new PortierError('BAD_REQUEST', `explain: header[${i}]: expected "Name: value", got ${JSON.stringify(h)}`, { status: 400 });
    headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
  }
  headers.host ??= url.host;
  const path = normalizeTarget(url.pathname) ?? url.pathname;
  return {
    url,
    match: {
      host: normalizeHost(String(headers.host)),
      path,
      method: (q.method ?? 'GET').toUpperCase(),
      headers,
      query: url.search.replace(/^\?/, ''),
      clientIp: q.clientIp ?? '127.0.0.1',
    },
  };
}

function pickEntryPoint(q: ExplainQuery, url: URL, eps: ExplainEntryPoint[]): ExplainEntryPoint {
  if (q.entryPoint) {
    if (!eps.some((e) => e.name === q.entryPoint)) {
      throw new PortierError('BAD_REQUEST', `explain: entrypoint ${JSON.stringify(q.entryPoint)} does not exist (have: ${eps.map((e) => e.name).join(', ')})`, { status: 400 });
    }
    return eps.find((e) => e.name === q.entryPoint)!;
  }
  const https = url.protocol === 'https:';
  const port = Number(url.port || (https ? 443 : 80));
  const candidates = eps.filter((e) => !INTERNAL_ENTRYPOINTS.has(e.name));
  return (
    candidates.find((e) => e.port === port) ??
    candidates.find((e) => e.name === (https ? 'websecure' : 'web')) ??
    candidates.find((e) => e.tls === https) ??
    candidates[0] ??
    eps[0] ?? { name: 'web', port: 80, tls: false }
  );
}

const byPriority = (a: RouterRuntime, b: RouterRuntime): number => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Paths a rule names (Path, PathPrefix), to find routers "on the same path". */
const rulePaths = (rule: string): string[] => [...rule.matchAll(/Path(?:Prefix)?\(\s*[`"]([^`"]*)[`"]/g)].map((m) => m[1]);
const firstSegment = (path: string): string => path.split('/').filter(Boolean)[0] ?? '';

function sameHost(r: RouterRuntime, host: string): boolean {
  const b = r.rule?.hostBinding;
  if (!b) return false;
  if (b.exact.includes(host)) return true;
  return b.wildcard.some((w) => host.endsWith(w.slice(1)) && !host.slice(0, host.length - w.length + 1).includes('.'));
}

function samePath(r: RouterRuntime, path: string): boolean {
  const seg = firstSegment(path);
  return rulePaths(r.config.rule ?? '').some((p) => firstSegment(p) === seg);
}

/**
 * Which router a request would reach and why the others (the near misses:
 * same host, same first path segment, right rule on another entrypoint,
 * or disabled) do not. Reads the table only; picks no server.
 */
export function explainRequest(table: RoutingTable, q: ExplainQuery, eps: ExplainEntryPoint[]): ExplainResult {
  const { match, url } = matchRequestFor(q);
  const ep = pickEntryPoint(q, url, eps);
  const entryPoint = ep.name;
  // Every entrypoint ends TLS: the request is TLS when its URL says https or its entrypoint has http.tls.
  const tls = ep.tls || url.protocol === 'https:';
  const routers = [...table.routers.values()].sort(byPriority);
  const describe = (r: RouterRuntime, reason: string): ExplainedRouter => ({
    router: r.name,
    rule: r.config.rule ?? '',
    priority: r.priority,
    entryPoints: r.entryPoints,
    status: r.status,
    lines: r.rule ? r.rule.explain(match).lines : [],
    reason,
  });
  const usable = (r: RouterRuntime): boolean => r.rule !== undefined && r.handler !== undefined;
  // As the table routes: a router with tls serves only TLS requests, one without only plaintext ones; on an
  // entrypoint with http.tls every router is a TLS router.
  const here = (r: RouterRuntime): boolean => r.entryPoints.includes(entryPoint) && (ep.tls ? tls : tls === r.tls);
  const winner = table.match(entryPoint, tls, match);

  const nearMisses: ExplainedRouter[] = [];
  for (const r of routers) {
    if (r === winner || (r.provider === 'internal' && !r.entryPoints.includes(entryPoint))) continue;
    const related = sameHost(r, match.host) || samePath(r, match.path);
    const matches = r.rule?.match(match) ?? false;
    let reason: string | undefined;
    if (r.errors.length && (related || matches || !r.rule)) reason = `${matches ? 'its rule matches, but the router is ' : ''}disabled: ${r.errors.join('; ')}`;
    else if (!usable(r)) continue;
    else if (matches && !r.entryPoints.includes(entryPoint)) reason = `its rule matches, but it is on entrypoint(s) ${r.entryPoints.join(', ')}, not ${entryPoint}`;
    else if (matches && !here(r)) reason = r.tls || ep.tls ? 'its rule matches, but it only serves HTTPS (tls set) and this request is plain HTTP' : 'its rule matches, but it only serves plain HTTP (no tls) and this request is HTTPS';
    else if (matches && winner) reason = `its rule matches too, but ${winner.name} has a higher priority (${winner.priority} > ${r.priority})`;
    else if (related && here(r)) reason = 'a matcher failed';
    else if (related) reason = r.entryPoints.includes(entryPoint) ? `it only serves ${tls ? 'plain HTTP' : 'HTTPS (tls set)'} and a matcher failed` : `not on entrypoint ${entryPoint}, and a matcher failed`;
    if (reason) nearMisses.push(describe(r, reason));
    if (nearMisses.length >= NEAR_MISS_LIMIT) break;
  }

  if (!winner && !nearMisses.length) {
    // Nothing related: show what this entrypoint does serve, so the user sees each rule fail.
    for (const r of routers.filter((x) => usable(x) && here(x)).slice(0, NEAR_MISS_LIMIT)) nearMisses.push(describe(r, 'a matcher failed'));
  }
  const result: ExplainResult = { request: { url: url.href, method: match.method, host: match.host, path: match.path, entryPoint, tls }, nearMisses };
  // Any scheme but http(s)/ws(s) is a raw TCP client (`postgres://`, `rediss://`, `tls://`, `tcp://`): TLS unless `tcp:`.
  const raw = !/^(https?|wss?):$/.test(url.protocol);
  const tcp = explainTcp(table.tcp, entryPoint, match.host, raw ? url.protocol !== 'tcp:' : tls, match.clientIp, url.protocol === 'postgres:' || url.protocol === 'postgresql:');
  if (tcp) result.tcp = tcp;
  if (winner) {
    const service = winner.service ?? '';
    const svc = table.services.get(service);
    const status = svc?.serverStatus() ?? {};
    result.match = {
      ...describe(winner, 'highest-priority router whose rule matches'),
      middlewares: winner.middlewares.map((name) => {
        const m = table.middlewares.get(name);
        return { name, type: m?.type ?? 'unknown', status: m?.status ?? 'missing' };
      }),
      service,
      serviceStatus: svc?.status ?? 'missing',
      servers: Object.entries(status).filter(([, s]) => s === 'UP').map(([u]) => u),
      downServers: Object.entries(status).filter(([, s]) => s === 'DOWN').map(([u]) => u),
    };
  }
  return result;
}
