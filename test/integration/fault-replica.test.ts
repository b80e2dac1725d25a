import t from 'tap';
import * as http from 'node:http';
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';
import { RuntimeProvider } from '../../providers/runtime/index';
import { DockerProvider } from '../../providers/docker/provider';
import { Engine } from '../../src/engine/engine';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { engineOrSkip, ensureTestImage, freePort, removeContainers, runBackend, dockerCli, SOCKET } from '../helpers/docker-engine';
import { node, stackFile, waitFor } from './engine-fixtures';

/**
 * Replicas leaving under a bounded GET load. The gateway must not fail an
 * idempotent request because a replica went away: a refused connection (the
 * replica stopped listening before its route was withdrawn), a dead
 * keep-alive socket, or a connection cut before any answer (the replica was
 * killed mid-request) is retried on another server.
 */
t.setTimeout(300_000);

interface Load {
  sent: number;
  failures: string[];
  bodies: Map<string, number>;
}

/** `workers` concurrent GET loops for `ms` (at most `max` requests), `during` run once the load is going. */
async function underLoad(gwPort: number, host: string, opts: { workers: number; ms: number; max: number }, during: () => Promise<void>): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.workers });
  const load: Load = { sent: 0, failures: [], bodies: new Map() };
  const stop = Date.now() + opts.ms;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: gwPort, path: '/', headers: { host }, agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          if (res.statusCode === 200) load.bodies.set(body.trim(), (load.bodies.get(body.trim()) ?? 0) + 1);
          else load.failures.push(`${res.statusCode} ${body.trim()}`);
          resolve();
        });
        res.on('error', (e) => {
          load.failures.push(e.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        load.failures.push(e.message);
        resolve();
      });
    });
  const worker = async (): Promise<void> => {
    while (Date.now() < stop && load.sent < opts.max) {
      load.sent++;
      await one();
    }
  };
  const running = Promise.all(Array.from({ length: opts.workers }, worker));
  await new Promise((r) => setTimeout(r, 300));
  await during();
  await running;
  agent.destroy();
  return load;
}

// Finishes what it is serving on SIGTERM but stops listening at once (refusing new connections).
const GRACEFUL_APP = `
const http = require('node:http');
const server = http.createServer((req, res) => setTimeout(() => res.end(process.env.PORTIER_REPLICA + '\\n'), req.url === '/health' ? 0 : 20))
  .listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

t.test('runtime core: replicas leaving under GET load', async (t) => {
  // No drain delay: the replica stops before its route is withdrawn, so the retry path is what saves requests.
  const engine = new Engine({ drainDelayMs: 0 });
  let gw: TestGateway | undefined;
  t.teardown(async () => {
    await engine.close();
    await gw?.close();
  });
  gw = await startTestGateway({}, { providers: [new RuntimeProvider(engine)] });
  const file = stackFile(t, `
name: leave
services:
  web:
    command: ["${node}", "app.js"]
    deploy: {replicas: 3}
    healthcheck: {test: ["HTTP", "/health"], interval: 100ms}
`);
  writeFileSync(path.join(path.dirname(file), 'app.js'), GRACEFUL_APP);
  await engine.up(file);
  const host = 'web.leave.localhost';
  await waitFor('routed to all 3', async () => {
    const load = await underLoad(gw!.port, host, { workers: 1, ms: 2000, max: 9 }, async () => undefined);
    return load.bodies.size === 3;
  });

  const scaled = await underLoad(gw.port, host, { workers: 4, ms: 4000, max: 1500 }, () => engine.scale('leave', 'web', 2));
  t.same(scaled.failures, [], `scale 3 → 2 with no drain delay: no failed GET out of ${scaled.sent}`);
  t.ok((scaled.bodies.get('leave-web-3') ?? 0) > 0, 'the leaving replica served before it left');

  const victim = engine.find('leave-web-2')!;
  const pid = victim.pid;
  t.ok(pid > 0, 'replica 2 runs');
  const killed = await underLoad(gw.port, host, { workers: 4, ms: 4000, max: 1500 }, async () => {
    process.kill(pid, 'SIGKILL');
  });
  t.same(killed.failures, [], `SIGKILL of a replica: even the GETs in flight on it are resent, none fails (${killed.sent} sent)`);
  t.ok((killed.bodies.get('leave-web-1') ?? 0) > killed.sent / 3, 'the surviving replica took over');
});

t.test('docker: `docker stop` of one of two host-network containers under GET load', async (t) => {
  const docker = await engineOrSkip(t);
  if (!docker) return;
  t.teardown(() => docker.stop());
  await ensureTestImage(docker.docker);
  const names = ['portier-fault-a', 'portier-fault-b'];
  await removeContainers(names);
  t.teardown(() => removeContainers(names));
  const labels = { 'com.docker.compose.project': 'fault', 'com.docker.compose.service': 'web' };
  for (const [i, name] of names.entries()) {
    const port = await freePort();
    await runBackend({ name, port, body: name, labels: { ...labels, 'com.docker.compose.container-number': String(i + 1) }, flags: ['--expose', String(port)] });
  }
  const gw = await startTestGateway({}, { providers: [DockerProvider.fromConfig({ endpoint: `unix://${SOCKET}`, throttle: '20ms' })] });
  t.teardown(() => gw.close());
  const host = 'web.fault.localhost';
  await waitFor('both containers serve', async () => {
    const load = await underLoad(gw.port, host, { workers: 2, ms: 400, max: 40 }, async () => undefined);
    return load.bodies.size === 2;
  }, 60_000);
  let stoppedAt = 0;
  const load = await underLoad(gw.port, host, { workers: 4, ms: 8000, max: 20_000 }, async () => {
    await dockerCli(['stop', '-t', '2', names[1]]);
    stoppedAt = Date.now();
  });
  t.ok(Date.now() - stoppedAt > 1000, 'the load went on for more than a second after the container stopped');
  t.same(load.failures, [], `no failed GET out of ${load.sent} (${load.failures.slice(0, 5).join('; ')})`);
  t.ok((load.bodies.get(names[0]) ?? 0) > 0 && (load.bodies.get(names[1]) ?? 0) > 0, `both served during the load (${[...load.bodies].join(', ')})`);
});
