import type { ExplainResult, ExplainedRouter } from './explain';
import { renderTcp } from './explain-tcp';

const indent = (lines: string[], pad = '      '): string[] => lines.map((l) => pad + l);

/** The human report `portier explain` prints. */
export function renderExplain(r: ExplainResult): string {
  const q = r.request;
  const out: string[] = [`${q.method} ${q.url}`, `  host ${q.host}, path ${q.path}, entrypoint ${q.entryPoint}${q.tls ? ' (TLS)' : ''}`, ''];
  if (r.tcp) out.push(...renderTcp(r.tcp), '');
  if (r.tcp?.match) return `${out.join('\n')}\n`;
  const m = r.match;
  if (m) {
    out.push(`MATCH  ${m.router}  (priority ${m.priority})`, `  rule: ${m.rule}`, ...indent(m.lines));
    out.push(`  middlewares: ${m.middlewares.length ? m.middlewares.map((x) => `${x.name} [${x.type}${x.status === 'enabled' ? '' : `, ${x.status}`}]`).join(' → ') : '(none)'}`);
    out.push(`  service: ${m.service} (${m.serviceStatus})`);
    if (m.servers.length) out.push(`  would pick one of: ${m.servers.join(', ')}`);
    else out.push('  no server is UP: the request would get 503');
    if (m.downServers.length) out.push(`  down: ${m.downServers.join(', ')}`);
  } else {
    out.push('NO MATCH: the request would get 404');
  }
  if (r.nearMisses.length) {
    out.push('', 'Near misses:');
    for (const n of r.nearMisses) out.push(...nearMiss(n));
  }
  return `${out.join('\n')}\n`;
}

function nearMiss(n: ExplainedRouter): string[] {
  return [`  ✗ ${n.router}  (priority ${n.priority}, entrypoints ${n.entryPoints.join(', ') || '-'}): ${n.reason}`, `      rule: ${n.rule || '(none)'}`, ...indent(n.lines, '        ')];
}
