import t from 'tap';
import * as http from 'node:http';
import * as net from 'node:net';
import { SwarmProvider } from '../../providers/swarm/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Provider } from '../../src/provider';
import { dockerCli, engineOrSkip, ensureTestImage, SOCKET, TEST_IMAGE, waitFor } from '../helpers/docker-engine';
import { startTestGateway } from '../helpers/gateway';

/**
 * The swarm provider on a real one-node swarm: a host-network service with
 * two replicas, each on its own 127.0.0.1 port taken from `{{.Task.Slot}}`
 * in the port label, routed and balanced through the gateway; scaling and
 * removal followed. The swarm is left at the end if this test created it.
 */
t.setTimeout(600_000);

function get(base: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/`, { headers: { host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on('error', reject);
  });
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A 4-digit prefix P such that ports P1 and P2 (slots 1, 2) are free. */
async function slotPortPrefix(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 1900 + Math.floor(Math.random() * 4500);
    if ((await portFree(p * 10 + 1)) && (await portFree(p * 10 + 2))) return p;
  }
  throw new Error('no free port pair found');
}

t.test('swarm provider on a one-node swarm', async (t) => {
  const engine = await engineOrSkip(t);
  if (!engine) return;
  t.teardown(() => engine.stop());
  await ensureTestImage(engine.docker);

  const state = await dockerCli(['info', '--format', '{{.Swarm.LocalNodeState}}']);
  if (state !== 'active') {
    const hadBridge = (await dockerCli(['network', 'ls', '-q', '--filter', 'name=^docker_gwbridge$'])) !== '';
    await dockerCli(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    t.teardown(async () => {
      await dockerCli(['swarm', 'leave', '--force']);
      // swarm init creates this bridge network and leave keeps it.
      if (!hadBridge) await dockerCli(['network', 'rm', 'docker_gwbridge']).catch(() => undefined);
    });
  }
  const svc = 'portier-t-sw';
  t.teardown(() => dockerCli(['service', 'rm', svc]).catch(() => undefined).then(() => waitFor(async () => (await dockerCli(['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${svc}`])) === '', 30_000, 'task containers to go')));

  let latest: ProviderSnapshot | undefined;
  const inner = SwarmProvider.fromConfig({ endpoint: `unix://${SOCKET}`, throttle: '50ms', refreshSeconds: 2 });
  const observed: Provider = { name: 'swarm', start: (push, log) => inner.start((s) => push((latest = s)), log), close: () => inner.close() };
  const gw = await startTestGateway({}, { providers: [observed] });
  t.teardown(() => gw.close());
  const servers = (): string[] => (latest?.config.http?.services?.[svc]?.loadBalancer?.servers ?? []).map((s) => s.url).sort();

  const prefix = await slotPortPrefix();
  await dockerCli([
    'service', 'create', '--detach', '--name', svc, '--network', 'host', '--replicas', '2',
    '--label', 'portier.enable=true',
    '--label', `portier.http.services.${svc}.loadbalancer.server.port=${prefix}{{.Task.Slot}}`,
    '--env', 'SLOT={{.Task.Slot}}',
    TEST_IMAGE, 'sh', '-c', `mkdir -p /tmp/w && echo sw-$SLOT > /tmp/w/index.html && exec httpd -f -p 127.0.0.1:${prefix}$SLOT -h /tmp/w`,
  ]);
  await waitFor(() => servers().length === 2, 60_000, 'two tasks as servers', 50);
  t.same(servers(), [`http://127.0.0.1:${prefix}1`, `http://127.0.0.1:${prefix}2`], 'one server per task, port from the task slot');
  t.same(latest?.config.http?.routers?.[svc], { rule: `Host(\`${svc}.localhost\`)`, service: svc }, 'default router named after the service');

  const seen = new Set<string>();
  await waitFor(async () => {
    const r = await get(gw.url, `${svc}.localhost`);
    if (r.status === 200) seen.add(r.body);
    return seen.size === 2;
  }, 20_000, 'both tasks to answer through the gateway', 10);
  t.same([...seen].sort(), ['sw-1', 'sw-2'], 'both tasks served');

  await dockerCli(['service', 'scale', '--detach', `${svc}=1`]);
  await waitFor(() => servers().length === 1, 30_000, 'scaled down to one server', 50);
  t.same(servers(), [`http://127.0.0.1:${prefix}1`]);

  await dockerCli(['service', 'rm', svc]);
  await waitFor(() => latest?.config.http?.services?.[svc] === undefined, 30_000, 'service removed', 50);
  t.pass('route gone after service rm');
});
