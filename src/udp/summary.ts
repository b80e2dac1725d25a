import type { UdpTable } from './table';

/** The startup summary's UDP lines: each entrypoint with the router serving it, or a disabled router with its errors. */
export function udpSummary(table: UdpTable, ports: (ep: string) => number): string[] {
  const lines: string[] = [];
  for (const r of [...table.routers.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (r.errors.length) {
      lines.push(`  ✗ ${r.name} (udp): ${r.errors.join('; ')}`);
      continue;
    }
    const status = Object.values(table.services.get(r.service ?? '')?.picker?.status() ?? {});
    const up = status.filter((s) => s === 'UP').length;
    for (const ep of r.using) lines.push(`  udp :${ports(ep)} (${ep})  →  ${r.service} (${up} server${up === 1 ? '' : 's'} up)`);
  }
  return lines;
}
