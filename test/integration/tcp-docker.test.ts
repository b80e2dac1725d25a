import t from 'tap';
import net from 'node:net';
import { DockerProvider } from '../../providers/docker/provider';
import { engineOrSkip, ensureTestImage, freePort, removeContainers, runBackend, waitFor } from '../helpers/docker-engine';
import { startTestGateway } from '../helpers/gateway';

/**
 * TCP labels on a real Docker container: a busybox server labelled with a
 * ``HostSNI(`*`)`` TCP router on its own entrypoint is reached through
 * Portier's TCP relay; the container gets no HTTP router.
 */
t.setTimeout(300_000);

function exchange(port: number, send: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.setTimeout(10_000, () => s.destroy());
    s.on('connect', () => s.write(send));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
  });
}

t.test('tcp labels on a Docker container', async (t) => {
  const engine = await engineOrSkip(t);
  if (!engine) return;
  t.teardown(() => engine.stop());
  await ensureTestImage(engine.docker);
  const name = `portier-tcp-${process.pid}`;
  t.teardown(() => removeContainers([name]));
  const gw = await startTestGateway({}, {
    providers: [DockerProvider.fromConfig({ endpoint: 'unix:///var/run/docker.sock', throttle: '50ms' })],
    staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' }, raw: { address: '127.0.0.1:0' } } },
  });
  t.teardown(() => gw.close());
  const port = await freePort();
  await runBackend({
    name, port, body: 'over-tcp',
    labels: {
      'traefik.tcp.routers.bb.rule': 'HostSNI(`*`)',
      'traefik.tcp.routers.bb.entrypoints': 'raw',
      'traefik.tcp.services.bb.loadbalancer.server.port': String(port),
    },
  });
  await waitFor(() => gw.gateway.table.tcp?.routers.get('bb@docker')?.status === 'enabled', 30_000, 'the TCP router from labels', 50);
  const raw = gw.gateway.port('raw');
  let answer = '';
  await waitFor(async () => (answer = await exchange(raw, 'GET / HTTP/1.0\r\n\r\n')).includes('over-tcp'), 30_000, 'the container to answer through the TCP router', 200);
  t.match(answer, /^HTTP\/1\.[01] 200[\s\S]*over-tcp/, 'the container answered through the TCP relay');
  t.same(gw.gateway.table.tcp?.services.get('bb@docker')?.serverStatus(), { [`127.0.0.1:${port}`]: 'UP' }, 'its server: the container address and the port label');
  t.notOk([...gw.gateway.table.routers.keys()].some((n) => n.endsWith('@docker')), 'no HTTP router for a TCP-only container');
});
