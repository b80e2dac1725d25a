import t from 'tap';
import { startPortierFromFiles } from '../helpers/portier';
import { request } from '../helpers/http';
import { askUntilAnswered, freeUdpPort, startUdpEcho, udpClient } from '../helpers/udp';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('UDP routers: sessions per client, round robin, idle timeout, ejection, one router per entrypoint, errors in the API', async (t) => {
  const [a, b, c, idle, w1, w2] = await Promise.all(['a', 'b', 'c', 'idle', 'w1', 'w2'].map((n) => startUdpEcho(t, n)));
  const dead = await freeUdpPort();
  const dynamic = `udp:
  routers:
    echo: {entryPoints: [echo], service: pair}
    eject: {entryPoints: [eject], service: flaky}
    idle: {entryPoints: [idle], service: lone}
    bounded: {entryPoints: [bounded], service: pair}
    v6: {entryPoints: [v6], service: pair}
    weighted: {entryPoints: [weighted], service: split}
    alpha: {entryPoints: [shared], service: lone}
    beta: {entryPoints: [shared], service: pair}
    ghost: {entryPoints: [shared], service: nowhere}
    wrongep: {entryPoints: [web], service: pair}
  services:
    pair: {loadBalancer: {servers: [{address: "127.0.0.1:${a.port}"}, {address: "127.0.0.1:${b.port}"}]}}
    flaky: {loadBalancer: {servers: [{address: "127.0.0.1:${dead}"}, {address: "127.0.0.1:${c.port}"}]}}
    lone: {loadBalancer: {servers: [{address: "127.0.0.1:${idle.port}"}]}}
    only1: {loadBalancer: {servers: [{address: "127.0.0.1:${w1.port}"}]}}
    only2: {loadBalancer: {servers: [{address: "127.0.0.1:${w2.port}"}]}}
    split: {weighted: {services: [{name: only1, weight: 3}, {name: only2, weight: 1}]}}
http:
  routers:
    onudp: {rule: "Host(\`x.localhost\`)", entryPoints: [echo], service: api@internal}
`;
  const portierYaml = `entryPoints:
  web: {address: "127.0.0.1:0"}
  traefik: {address: "127.0.0.1:0"}
  echo: {address: "127.0.0.1:0/udp"}
  eject: {address: "127.0.0.1:0/udp"}
  idle: {address: "127.0.0.1:0/udp", udp: {timeout: 2s}}
  weighted: {address: "127.0.0.1:0/udp"}
  shared: {address: "127.0.0.1:0/udp"}
  bounded: {address: "127.0.0.1:0/udp", udp: {timeout: 1s, maxSessions: 2}}
  v6: {address: "[::1]:0/udp"}
api: {}
metrics:
  prometheus: {entryPoint: traefik}
providers:
  providersThrottleDuration: 5ms
  file: {filename: dynamic.yaml}
`;
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic });
  const port = (ep: string): number => portier.gateway.port(ep);
  const api = async (path: string): Promise<any> => JSON.parse((await request(`http://127.0.0.1:${port('traefik')}${path}`)).body);

  await t.test('each client is a session; new sessions go round robin over the servers', async (t) => {
    const c1 = await udpClient(t);
    const c2 = await udpClient(t);
    const first = (await c1.ask(port('echo'), 'hello'))?.toString();
    const second = (await c2.ask(port('echo'), 'hello'))?.toString();
    t.same([first, second].sort(), ['a:hello', 'b:hello'], 'two clients, two servers');
    for (let i = 0; i < 3; i++) t.equal((await c1.ask(port('echo'), `again${i}`))?.toString(), `${first!.slice(0, 1)}:again${i}`, 'a session keeps its server');
    const big = Buffer.alloc(65507, 7);
    const back = await c2.ask(port('echo'), big, 5000);
    t.equal(back?.length, 65507, 'a 65507-byte datagram goes through whole, both ways');
    t.ok(back?.equals(big), 'unchanged');
  });

  await t.test('an IPv6 entrypoint serves IPv6 clients (to an IPv4 server)', async (t) => {
    const client = await udpClient(t, '::1');
    t.match((await client.ask(port('v6'), 'six'))?.toString(), /^[ab]:six$/);
  });

  await t.test('a session idle for udp.timeout ends; the next datagram opens a new one', async (t) => {
    const client = await udpClient(t);
    // Active for longer than the timeout: one session, one upstream port.
    for (let i = 0; i < 6; i++) {
      t.equal((await client.ask(port('idle'), `tick${i}`))?.toString(), `idle:tick${i}`);
      await sleep(300);
    }
    t.equal(new Set(idle.peers).size, 1, `one upstream port while active (${idle.peers.join(', ')})`);
    await sleep(5000);
    t.equal((await client.ask(port('idle'), 'after'))?.toString(), 'idle:after');
    t.equal(new Set(idle.peers).size, 2, 'after the idle timeout, a new session with a new upstream port');
  });

  await t.test('a server that refuses is ejected; the next sessions go to the other', async (t) => {
    const first = await udpClient(t);
    t.equal(await first.ask(port('eject'), 'lost?', 1500), undefined, 'the first session met the refusing server');
    const answers: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++) answers.push((await (await udpClient(t)).ask(port('eject'), `q${i}`))?.toString());
    t.same(answers, ['c:q0', 'c:q1', 'c:q2', 'c:q3'], 'every later session reaches the server that answers');
    const svc = await api('/api/udp/services/flaky@file');
    t.same(svc.serverStatus, { [`127.0.0.1:${dead}`]: 'DOWN', [`127.0.0.1:${c.port}`]: 'UP' });
    t.equal(await askUntilAnswered(first, port('eject'), 'retry'), 'c:retry', 'the first client, retrying, gets a new session elsewhere');
  });

  await t.test('a weighted service spreads new sessions by weight', async (t) => {
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(((await (await udpClient(t)).ask(port('weighted'), 'w'))?.toString() ?? '').split(':')[0]);
    t.same([seen.filter((s) => s === 'w1').length, seen.filter((s) => s === 'w2').length], [6, 2], seen.join(' '));
  });

  await t.test('udp.maxSessions bounds the sessions of an entrypoint; a new client gets in once one has ended', async (t) => {
    const [c1, c2, c3] = [await udpClient(t), await udpClient(t), await udpClient(t)];
    t.ok(await c1.ask(port('bounded'), 'one'), 'first session');
    t.ok(await c2.ask(port('bounded'), 'two'), 'second session');
    t.equal(await c3.ask(port('bounded'), 'three', 1000), undefined, 'a third client is dropped while two sessions live');
    t.ok(await c1.ask(port('bounded'), 'still'), 'the sessions in place are served');
    await sleep(3000);
    t.ok(await c3.ask(port('bounded'), 'now'), 'after the idle timeout the third client gets a session');
    const dropped = (await api('/api/udp/routers/bounded@file')).stats.dropped;
    t.equal(dropped, 1, 'the dropped datagram is counted on the router');
  });

  await t.test('metrics per UDP router and server', async (t) => {
    const text = (await request(`http://127.0.0.1:${port('traefik')}/metrics`)).body;
    const cases: [RegExp, string][] = [
      [/^portier_udp_router_sessions_total\{router="echo@file"\} 2$/m, 'sessions of echo'],
      [/^portier_udp_router_datagrams_total\{router="echo@file",direction="in"\} [5-9]$/m, 'datagrams in'],
      [/^portier_udp_router_bytes_total\{router="echo@file",direction="out"\} \d{5,}$/m, 'bytes out (the 65507-byte answer)'],
      [new RegExp(`^portier_udp_service_server_up\\{service="flaky@file",address="127.0.0.1:${dead}"\\} 0$`, 'm'), 'the refusing server is down'],
      [/^portier_udp_router_dropped_datagrams_total\{router="bounded@file"\} 1$/m, 'dropped'],
    ];
    for (const [re, what] of cases) t.match(text, re, what);
  });

  await t.test('the API: one router per entrypoint, broken routers disabled with their error, the others served', async (t) => {
    const routers = await api('/api/udp/routers');
    const byName = Object.fromEntries(routers.map((r: any) => [r.name, r]));
    const cases: [string, string, RegExp | undefined][] = [
      ['echo@file', 'enabled', undefined],
      ['beta@file', 'enabled', undefined],
      ['alpha@file', 'disabled', /not served: entryPoint "shared" is served by UDP router beta@file/],
      ['ghost@file', 'disabled', /service nowhere@file does not exist/],
      ['wrongep@file', 'disabled', /entryPoint "web" is not a UDP entrypoint/],
    ];
    for (const [name, status, error] of cases) {
      t.equal(byName[name]?.status, status, `${name}: ${status}`);
      if (error) t.match(byName[name]?.error?.join('\n'), error, `${name}: its error`);
    }
    t.same(byName['echo@file'].using, ['echo']);
    t.ok(byName['echo@file'].stats.datagramsIn >= 5 && byName['echo@file'].stats.bytesOut >= 65507, 'counters per router');
    const c1 = await udpClient(t);
    t.equal((await c1.ask(port('shared'), 'who'))?.toString().slice(1), ':who', 'the shared entrypoint serves beta (pair)');
    const onudp = await api('/api/http/routers/onudp@file');
    t.match(onudp.error.join('\n'), /entryPoint "echo" does not exist/, 'an HTTP router cannot use a UDP entrypoint');
    const overview = await api('/api/overview');
    t.same(overview.udp.routers, { total: 10, warnings: 0, errors: 3 });
    const raw = await api('/api/rawdata');
    t.ok(raw.udpRouters['echo@file'] && raw.udpServices['pair@file'], 'rawdata carries udpRouters and udpServices');
    const explainUdp = await request(`http://127.0.0.1:${port('traefik')}/api/explain?entrypoint=echo&url=${encodeURIComponent('http://x.localhost/')}`);
    t.equal(explainUdp.status, 400, 'explain: a UDP entrypoint is no HTTP entrypoint');
    const explained = await api(`/api/explain?url=${encodeURIComponent(`http://x.localhost:${port('echo')}/`)}`);
    t.equal(explained.request.entryPoint, 'web', "explain: an HTTP URL on a UDP entrypoint's port is not taken to arrive there");
    const eps = await api('/api/entrypoints');
    t.ok(eps.some((e: any) => e.name === 'echo' && e.address === '127.0.0.1:0/udp'), 'the entrypoint shows its /udp address');
  });
});
