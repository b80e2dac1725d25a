import type { ProviderSnapshot, TlsConfig } from './dynamic/model';
import type { RoutingTable } from './routing/table';
import type { StaticConfig } from './config/static';
import type { RouterTls } from './tls/index';
import { isTlsEntryPoint } from './server/gateway';
import { tcpTlsRouters } from './tcp/tls-routers';

/**
 * What the TLS manager needs of a new table: every router served over TLS
 * (its own `tls`, or a TLS entrypoint's `http.tls` defaults) with the hosts
 * of its rule, so certificates are asked for exactly the names routers use.
 */
export function tlsRouters(table: RoutingTable, config: StaticConfig): RouterTls[] {
  const out: RouterTls[] = [];
  for (const r of table.routers.values()) {
    if (!r.handler || r.provider === 'internal') continue;
    const epTls = r.entryPoints.map((ep) => config.entryPoints[ep]).find((ep, i) => ep && isTlsEntryPoint(r.entryPoints[i], ep));
    if (!r.config.tls && !epTls) continue;
    const tls = r.config.tls ?? epTls?.http?.tls ?? {};
    out.push({ name: r.name, hosts: r.rule?.hosts ?? [], tls: { certResolver: tls.certResolver, domains: tls.domains, options: r.config.tls?.options } });
  }
  out.push(...tcpTlsRouters(table.tcp));
  return out;
}

/** Static certificates, stores and options from every provider's snapshot, merged. */
export function mergedTlsConfig(snapshots: Iterable<ProviderSnapshot>): TlsConfig {
  const out: TlsConfig = { certificates: [], options: {}, stores: {} };
  for (const s of snapshots) {
    const t = s.config.tls;
    if (!t) continue;
    out.certificates!.push(...(t.certificates ?? []));
    Object.assign(out.options!, t.options);
    Object.assign(out.stores!, t.stores);
  }
  return out;
}
