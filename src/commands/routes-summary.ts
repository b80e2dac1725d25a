import type { RoutingTable } from '../routing/table';
import type { StaticConfig } from '../config/static';
import { parseAddress } from '../server/entrypoint';
import { isTlsEntryPoint } from '../server/gateway';

/**
 * The lines `portier` prints once it serves: one URL per host-bound router
 * on a plain HTTP entrypoint, with how many servers answer it, so a user can
 * click straight through.
 */
export function routesSummary(table: RoutingTable, config: StaticConfig, ports: (ep: string) => number): string[] {
  const lines: string[] = [];
  const routers = [...table.routers.values()].filter((r) => r.provider !== 'internal').sort((a, b) => a.name.localeCompare(b.name));
  for (const r of routers) {
    if (!r.handler) {
      lines.push(`  ✗ ${r.name}: ${r.errors.join('; ')}`);
      continue;
    }
    const servers = r.service ? table.services.get(r.service)?.serverStatus() ?? {} : {};
    const up = Object.values(servers).filter((s) => s === 'UP').length;
    for (const ep of r.entryPoints) {
      const port = ports(ep) || parseAddress(config.entryPoints[ep]?.address ?? ':0').port;
      const epConfig = config.entryPoints[ep];
      // A router with tls is served over TLS on whichever entrypoint it names; http.tls makes every router TLS.
      const scheme = r.tls || (epConfig && isTlsEntryPoint(ep, epConfig)) ? 'https' : 'http';
      const suffix = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443) ? '' : `:${port}`;
      for (const host of r.rule?.hosts ?? []) lines.push(`  ${scheme}://${host}${suffix}/  →  ${r.service} (${up} server${up === 1 ? '' : 's'} up)`);
      if (!r.rule?.hosts) lines.push(`  ${r.config.rule} on ${ep}  →  ${r.service} (${up} up)`);
    }
  }
  return lines;
}
