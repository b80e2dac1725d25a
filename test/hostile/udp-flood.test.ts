import t from 'tap';
import dgram from 'node:dgram';
import { startTestGateway } from '../helpers/gateway';
import { startUdpEcho, udpClient } from '../helpers/udp';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('a flood of new UDP clients stops at udp.maxSessions; odd datagrams pass; Portier keeps serving', async (t) => {
  const echo = await startUdpEcho(t, 'e');
  const gw = await startTestGateway(
    { udp: { routers: { r: { service: 's' } }, services: { s: { loadBalancer: { servers: [{ address: `127.0.0.1:${echo.port}` }] } } } } },
    { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0' }, flood: { address: '127.0.0.1:0/udp', udp: { timeout: '2s', maxSessions: 50 } } } } },
  );
  t.teardown(() => gw.close());
  const port = gw.gateway.port('flood');
  const router = () => gw.gateway.table.udp.routers.get('r@file')!;

  const sockets: dgram.Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.close()));
  let answered = 0;
  for (let i = 0; i < 300; i++) {
    const s = dgram.createSocket('udp4');
    s.on('error', () => undefined);
    s.on('message', () => answered++);
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    s.send(i % 3 === 0 ? Buffer.alloc(0) : Buffer.from(`client ${i}`), port, '127.0.0.1');
    // Paced a little: this process is also the gateway, and a flood it never reads would only fill its own socket buffer.
    if (i % 10 === 9) await sleep(10);
  }
  for (let i = 0; i < 100 && router().counters.sessions + router().counters.dropped < 300; i++) await sleep(100);
  t.equal(router().counters.sessions, 50, 'sessions opened: the bound');
  const { dropped } = router().counters;
  // The kernel may itself drop some of a flood before Portier reads it: at most the other 250 are Portier's drops.
  t.ok(dropped > 0 && dropped <= 250, `the other new clients dropped, counted (${dropped})`);
  for (let i = 0; i < 100 && answered < 50; i++) await sleep(100);
  t.equal(answered, 50, 'each admitted client answered, the empty datagrams too');

  // One admitted client sends a burst in its session: relayed without a new session.
  const burst = sockets[1];
  for (let i = 0; i < 500; i++) burst.send(Buffer.from(`burst ${i}`), port, '127.0.0.1');
  for (let i = 0; i < 40 && answered < 300; i++) await sleep(100);
  t.equal(router().counters.sessions, 50, 'no new session for a known client');
  t.ok(answered > 50, `burst relayed (${answered - 50} of 500 answers back; UDP may drop under load)`);

  // Once the sessions have been idle for the timeout, a new client gets in.
  await sleep(4000);
  const late = await udpClient(t);
  t.equal((await late.ask(port, 'late'))?.toString(), 'e:late', 'the entrypoint serves again');
});
