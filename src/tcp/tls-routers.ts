import type { RouterTls } from '../tls/index';
import type { TcpTable } from './tcp-table';

/**
 * The TCP routers whose TLS Portier ends, for the TLS manager: certificates
 * are asked for the names of their HostSNI matchers (or their
 * `tls.domains`), from their `certResolver`, or from the local CA when
 * every name is under `.localhost`, as for HTTP routers.
 */
export function tcpTlsRouters(table: TcpTable | undefined): RouterTls[] {
  const out: RouterTls[] = [];
  for (const r of table?.routers.values() ?? []) {
    if (!r.handler || r.tls !== 'terminate' || !r.rule) continue;
    const hosts = r.rule.sni.filter((n) => n !== '*' && !n.startsWith('*.'));
    out.push({ name: r.name, hosts, tls: { certResolver: r.config.tls?.certResolver, domains: r.config.tls?.domains } });
  }
  return out;
}
