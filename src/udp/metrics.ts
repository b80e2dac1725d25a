import { Counter, Gauge, type Registry } from 'prom-client';
import type { RoutingTable } from '../routing/table';
import type { UdpCounters } from './table';

/**
 * Portier's UDP metrics (Traefik has none): per UDP router, sessions
 * opened, datagrams and bytes each way, and datagrams of new clients
 * dropped; per UDP service server, whether it is up (not ejected). Read
 * from the routers' counters when scraped: nothing is done per datagram
 * beyond adding to them.
 */
export function registerUdpMetrics(registry: Registry, prefix: string, table: () => RoutingTable): void {
  const registers = [registry];
  const perRouter = (name: string, help: string, read: (c: UdpCounters) => number): void => {
    new Counter({
      name: `${prefix}_udp_router_${name}`, help, labelNames: ['router'], registers,
      collect() {
        this.reset();
        for (const r of table().udp.routers.values()) this.labels(r.name).inc(read(r.counters));
      },
    });
  };
  const perDirection = (name: string, help: string, read: (c: UdpCounters) => [number, number]): void => {
    new Counter({
      name: `${prefix}_udp_router_${name}`, help, labelNames: ['router', 'direction'], registers,
      collect() {
        this.reset();
        for (const r of table().udp.routers.values()) {
          const [fromClients, toClients] = read(r.counters);
          this.labels(r.name, 'in').inc(fromClients);
          this.labels(r.name, 'out').inc(toClients);
        }
      },
    });
  };
  perRouter('sessions_total', 'How many UDP sessions (client address and port) a router opened.', (c) => c.sessions);
  perRouter('dropped_datagrams_total', "Datagrams of new clients a UDP router dropped: no server, or the entrypoint's session limit.", (c) => c.dropped);
  perDirection('datagrams_total', 'UDP datagrams relayed by a router: in from clients, out to clients.', (c) => [c.datagramsIn, c.datagramsOut]);
  perDirection('bytes_total', 'UDP payload bytes relayed by a router: in from clients, out to clients.', (c) => [c.bytesIn, c.bytesOut]);
  new Gauge({
    name: `${prefix}_udp_service_server_up`, help: 'UDP service server is up (1), or ejected after refusing (0).', labelNames: ['service', 'address'], registers,
    collect() {
      this.reset();
      for (const s of table().udp.services.values()) {
        for (const [address, state] of Object.entries(s.picker?.status() ?? {})) this.labels(s.name, address).set(state === 'UP' ? 1 : 0);
      }
    },
  });
}
