import type { RoutingTable } from '../routing/table';
import type { StaticConfig } from '../config/static';
import type { RouterRuntime } from '../routing/runtime';
import { parseAddress } from './entrypoint';
import { isTlsEntryPoint } from './gateway';

/** One URL a router answers, or its rule when it is not bound to hosts. */
export interface ServedUrl {
  router: string;
  service?: string;
  /** `http://web.shop.localhost:8080/`; undefined for a router without Host rules. */
  url?: string;
  rule: string;
  entryPoint: string;
  serversUp: number;
}

/**
 * What the gateway serves, as a person would type it: one URL per host of
 * each working router on each of its entrypoints, the scheme the router is
 * served with and the port dropped when it is the scheme's default. The
 * startup summary and the helpful 404 page both read it.
 */
export function servedUrls(table: RoutingTable, config: StaticConfig, ports: (ep: string) => number): ServedUrl[] {
  const out: ServedUrl[] = [];
  const routers = [...table.routers.values()].filter((r) => r.provider !== 'internal' && r.handler).sort((a, b) => a.name.localeCompare(b.name));
  for (const r of routers) {
    const serversUp = upCount(table, r);
    for (const ep of r.entryPoints) {
      const epConfig = config.entryPoints[ep];
      const port = ports(ep) || parseAddress(epConfig?.address ?? ':0').port;
      // A router with tls is served over TLS on whichever entrypoint it names; http.tls makes every router TLS.
      const scheme = r.tls || (epConfig && isTlsEntryPoint(ep, epConfig)) ? 'https' : 'http';
      const suffix = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443) ? '' : `:${port}`;
      const base = { router: r.name, service: r.service, rule: r.config.rule, entryPoint: ep, serversUp };
      if (!r.rule?.hosts) out.push(base);
      else for (const host of r.rule.hosts) out.push({ ...base, url: `${scheme}://${host.includes(':') ? `[${host}]` : host}${suffix}/` });
    }
  }
  return out;
}

function upCount(table: RoutingTable, r: RouterRuntime): number {
  const servers = r.service ? table.services.get(r.service)?.serverStatus() ?? {} : {};
  return Object.values(servers).filter((s) => s === 'UP').length;
}
