import type { TcpTable } from '../tcp/tcp-table';

/** What `explain` says of a connection TCP routers see: the one that takes it, and why the others do not. */
export interface ExplainedTcp {
  /** The server name the connection would ask for ('' for plaintext). */
  sni: string;
  tls: boolean;
  match?: { router: string; rule: string; priority: number; tls: string; service: string; lines: string[]; servers: string[]; downServers: string[] };
  misses: { router: string; rule: string; priority: number; lines: string[] }[];
}

/**
 * Explains a connection to `entryPoint` by TCP routers, as the entrypoint
 * chooses (tcp-table.ts): a TLS one by its SNI (or a PostgreSQL STARTTLS,
 * which no HTTPS router can take), a plaintext one by client IP.
 * Undefined when the entrypoint has no TCP router of that kind.
 */
export function explainTcp(table: TcpTable | undefined, entryPoint: string, sni: string, tls: boolean, clientIp: string, postgres = false): ExplainedTcp | undefined {
  if (!table) return undefined;
  const routers = table.candidates(entryPoint, tls);
  if (routers.length === 0) return undefined;
  const conn = { serverName: tls ? sni : '', alpn: [], clientIp };
  const winner = tls ? table.matchTls(entryPoint, conn, !postgres) : table.matchPlain(entryPoint, conn);
  const out: ExplainedTcp = { sni: conn.serverName, tls, misses: [] };
  for (const r of routers) {
    const lines = r.rule.explain(conn).lines;
    if (r !== winner) {
      out.misses.push({ router: r.name, rule: r.rule.source, priority: r.priority, lines });
      continue;
    }
    const status = table.services.get(r.service ?? '')?.serverStatus() ?? {};
    out.match = {
      router: r.name, rule: r.rule.source, priority: r.priority, tls: r.tls, service: r.service ?? '', lines,
      servers: Object.entries(status).filter(([, s]) => s === 'UP').map(([a]) => a),
      downServers: Object.entries(status).filter(([, s]) => s === 'DOWN').map(([a]) => a),
    };
  }
  return out;
}

/** The lines `portier explain` prints for it. */
export function renderTcp(t: ExplainedTcp): string[] {
  const out = [`TCP (${t.tls ? `TLS, SNI ${JSON.stringify(t.sni)}` : 'plaintext'}):`];
  if (t.match) {
    const how = t.match.tls === 'passthrough' ? 'TLS passed through to the server' : t.match.tls === 'terminate' ? 'TLS ended by Portier, cleartext to the server' : 'relayed as is';
    out.push(`MATCH  ${t.match.router}  (priority ${t.match.priority}, ${how})`, `  rule: ${t.match.rule}`, ...t.match.lines.map((l) => `      ${l}`));
    out.push(`  service: ${t.match.service}; ${t.match.servers.length ? `would pick one of: ${t.match.servers.join(', ')}` : 'no server is UP: the connection would be closed'}`);
  } else out.push('  no TCP router takes it: HTTP routing below decides');
  for (const m of t.misses) out.push(`  ✗ ${m.router}  (priority ${m.priority}): rule ${m.rule}`, ...m.lines.map((l) => `        ${l}`));
  return out;
}
