import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthChecker } from '../../src/balancer/health-check';
import { TRANSPORT_DEFAULTS, Transport } from '../../src/proxy/transport';
import { ServerState } from '../../src/balancer/server-state';
import { silentLogger } from '../../src/log/logger';
import type { HealthCheckConfig } from '../../src/dynamic/model';

interface Case {
  name: string;
  status: number;
  hc: Omit<HealthCheckConfig, 'path'>;
  /** Probes the backend receives in WINDOW_MS, the first one included. */
  min: number;
  max: number;
}

const WINDOW_MS = 500;

const cases: Case[] = [
  { name: 'a down server is re-checked every unhealthyInterval', status: 500, hc: { interval: '10s', unhealthyInterval: '50ms' }, min: 5, max: 11 },
  { name: 'a healthy server waits for interval, not unhealthyInterval', status: 200, hc: { interval: '10s', unhealthyInterval: '50ms' }, min: 1, max: 1 },
  { name: 'unhealthyInterval defaults to interval: a down server waits too', status: 500, hc: { interval: '10s' }, min: 1, max: 1 },
  { name: 'unhealthyInterval defaults to interval: both short', status: 500, hc: { interval: '100ms' }, min: 3, max: 6 },
  { name: 'a zero unhealthyInterval falls back to interval, as in Traefik', status: 500, hc: { interval: '10s', unhealthyInterval: '0s' }, min: 1, max: 1 },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    let probes = 0;
    const backend = http.createServer((_req, res) => {
      probes++;
      res.writeHead(c.status).end();
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const server = new ServerState(`http://127.0.0.1:${(backend.address() as AddressInfo).port}`, 1);
    const checker = new HealthChecker({ path: '/health', timeout: '200ms', ...c.hc }, [server], new Transport(TRANSPORT_DEFAULTS), silentLogger, () => undefined);
    t.teardown(() => {
      checker.close();
      backend.closeAllConnections();
      backend.close();
    });
    checker.start();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    t.equal(server.healthy, c.status < 400, 'verdict');
    t.ok(probes >= c.min && probes <= c.max, `${probes} probes in ${WINDOW_MS} ms (want ${c.min}-${c.max})`);
  });
}
