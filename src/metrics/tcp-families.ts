import { Counter, Gauge, type Registry } from 'prom-client';
import type { TcpConnObserver } from '../tcp/tcp-front';

/**
 * TCP routers' families: connections open per router (and, in the shared
 * `<prefix>_open_connections`, per entrypoint with protocol `tcp`), and
 * the bytes relayed each way, counted when a connection ends.
 */
export function tcpMetrics(registry: Registry, prefix: string, openConnections: Gauge<'entrypoint' | 'protocol'>): TcpConnObserver {
  const registers = [registry];
  const open = new Gauge({ name: `${prefix}_tcp_router_open_connections`, help: 'How many connections a TCP router has open, by router.', labelNames: ['router'], registers });
  const bytesIn = new Counter({ name: `${prefix}_tcp_router_bytes_in_total`, help: 'Bytes received from clients on a TCP router\'s closed connections.', labelNames: ['router'], registers });
  const bytesOut = new Counter({ name: `${prefix}_tcp_router_bytes_out_total`, help: 'Bytes sent to clients on a TCP router\'s closed connections.', labelNames: ['router'], registers });
  return {
    tcpOpened(entryPoint, router) {
      openConnections.labels(entryPoint, 'tcp').inc();
      open.labels(router).inc();
    },
    tcpClosed(entryPoint, router, inBytes, outBytes) {
      openConnections.labels(entryPoint, 'tcp').dec();
      open.labels(router).dec();
      bytesIn.labels(router).inc(inBytes);
      bytesOut.labels(router).inc(outBytes);
    },
  };
}
