import type { RoutingTable } from '../routing/table';
import type { StaticConfig } from '../config/static';
import { servedUrls } from '../server/served-urls';
import { udpSummary } from '../udp/summary';

/**
 * The lines `portier` prints once it serves: one URL per host-bound router
 * on each of its entrypoints, with how many servers answer it, so a user can
 * click straight through; a disabled router with its errors.
 */
export function routesSummary(table: RoutingTable, config: StaticConfig, ports: (ep: string) => number): string[] {
  const broken = [...table.routers.values()].filter((r) => r.provider !== 'internal' && !r.handler).sort((a, b) => a.name.localeCompare(b.name));
  const lines = broken.map((r) => `  ✗ ${r.name}: ${r.errors.join('; ')}`);
  for (const u of servedUrls(table, config, ports)) {
    const up = u.serversUp;
    if (u.url) lines.push(`  ${u.url}  →  ${u.service} (${up} server${up === 1 ? '' : 's'} up)`);
    else lines.push(`  ${u.rule} on ${u.entryPoint}  →  ${u.service} (${up} up)`);
  }
  lines.push(...udpSummary(table.udp, ports));
  return lines;
}
