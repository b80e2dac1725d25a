import t from 'tap';
import { RuntimeProvider } from '../../providers/runtime/index';
import { Engine } from '../../src/engine/engine';
import { startTestGateway } from '../helpers/gateway';
import { askUntilAnswered, udpClient } from '../helpers/udp';
import { node, stackFile, waitFor } from './engine-fixtures';

// A UDP server on its replica's PORT that answers `<replica>:<datagram>`.
const ECHO = "const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>d.send(process.env.PORTIER_REPLICA+':'+m,r.port,r.address));d.bind(+process.env.PORT,'127.0.0.1')";

t.test('UDP labels on runtime-core replicas: a router and a default service over the replicas, no HTTP route', async (t) => {
  const engine = new Engine({ drainDelayMs: 100 });
  const gw = await startTestGateway({}, {
    providers: [new RuntimeProvider(engine)],
    staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' }, dns: { address: '127.0.0.1:0/udp' } } },
  });
  t.teardown(async () => {
    await engine.close();
    await gw.close();
  });
  const file = stackFile(t, `
name: udpstack
services:
  echo:
    command: ["${node}", "-e", "${ECHO.replace(/"/g, '\\"')}"]
    deploy: {replicas: 2}
    labels:
      portier.udp.routers.echo.entrypoints: dns
`);
  await engine.up(file);
  await waitFor('both replicas are servers', () => {
    const svc = gw.gateway.table.udp.services.get('echo-udpstack@runtime');
    return svc?.config.loadBalancer?.servers.length === 2;
  });
  // A replica runs before its socket is bound; one asked too early refuses and is ejected for 10 s (tested elsewhere).
  for (const { address } of gw.gateway.table.udp.services.get('echo-udpstack@runtime')!.config.loadBalancer!.servers) {
    t.match(await askUntilAnswered(await udpClient(t), Number(address.split(':')[1]), 'up?', 30), /^udpstack-echo-\d:up\?$/, `${address} answers`);
  }
  const router = gw.gateway.table.udp.routers.get('echo@runtime');
  t.equal(router?.status, 'enabled', router?.errors.join('; ') ?? 'no router');
  t.equal(router?.service, 'echo-udpstack@runtime', "the container's default service");
  t.notOk([...gw.gateway.table.routers.keys()].some((n) => n.endsWith('@runtime')), 'UDP labels alone: no HTTP router, as in Traefik');
  const port = gw.gateway.port('dns');
  const seen = new Set<string>();
  for (let i = 0; i < 6 && seen.size < 2; i++) {
    const answer = await askUntilAnswered(await udpClient(t), port, 'ping');
    if (answer) seen.add(answer);
  }
  t.same([...seen].sort(), ['udpstack-echo-1:ping', 'udpstack-echo-2:ping'], 'sessions reach both replicas');
});
