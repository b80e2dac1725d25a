import t from 'tap';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { RawConn } from '../helpers/raw-conn';
import { HEADER_MS, IDLE_MS, plain, sleep, startBackend, startDirectGateway, within } from '../helpers/direct-fixtures';

/**
 * The direct path (server/direct-connection.ts) on real sockets, over a
 * connection's life: keep-alive with idleTimeout and readHeaderTimeout, a
 * client that leaves mid-response (the upstream request is aborted), the
 * entrypoint settings that keep every connection with Node's HTTP server,
 * and graceful shutdown with a direct request in flight. Each check asserts
 * what a client sees plus the `web` entrypoint's directStats delta
 * (requests served directly, hand-offs to Node).
 */

t.test('direct path: connection lifecycle', async (t) => {
  const { backend, counted, open } = await startDirectGateway(t);

  t.test('keep-alive and timeouts', async (t) => {
    const sequential = (async () => {
      const conn = await open(t);
      let last = 0;
      await counted(t, { requests: 5, handOffs: 0 }, async () => {
        for (let i = 0; i < 5; i++) {
          conn.write(plain(`/echo/seq${i}`));
          const r = await conn.response();
          t.equal(r.status, 200, `sequential request ${i}`);
          t.equal(r.headers.connection, 'keep-alive');
        }
        last = Date.now();
      }, 'five sequential requests on one connection: all direct');
      const closedAt = await conn.waitClosed(IDLE_MS + 2000);
      const idle = closedAt - last;
      t.ok(idle >= IDLE_MS - 100 && idle <= IDLE_MS + 1000, `idle connection closed after idleTimeout (${idle} ms)`);
    })();
    const silent = (async () => {
      const opened = Date.now();
      const conn = await open(t);
      const closedAt = await conn.waitClosed(HEADER_MS + 2000);
      const waited = closedAt - opened;
      t.ok(waited >= HEADER_MS - 100 && waited <= HEADER_MS + 1000, `a connection that sends nothing is closed after readHeaderTimeout (${waited} ms)`);
      t.equal(conn.pending, '', 'without a response');
    })();
    await Promise.all([sequential, silent]);
  });

  t.test('a client that leaves mid-response aborts the upstream request', async (t) => {
    const ways: [string, (c: RawConn) => void][] = [
      ['destroyed socket', (c) => c.destroy()],
      // As Node's server with httpAllowHalfOpen off: a FIN abandons the request in flight.
      ['half-close (FIN)', (c) => c.socket.end()],
    ];
    for (const [name, leave] of ways) {
      const id = `abort-${name.replace(/\W+/g, '-')}`;
      const conn = await open(t);
      await counted(t, { requests: 1, handOffs: 0 }, async () => {
        conn.write(plain(`/slow?ms=3000&id=${id}`));
        await within(2000, `${name}: backend got the request`, (async () => {
          while (!backend.waiting.has(id)) await sleep(10);
        })());
      }, `${name}: directStats delta`);
      leave(conn);
      await within(2000, `${name}: the backend's request closed`, (async () => {
        while (!backend.abandoned.includes(id)) await sleep(10);
      })());
      t.pass(`${name}: the backend saw its connection close before the response`);
      await t.resolves(conn.waitClosed(2000), `${name}: the client connection is closed`);
    }
    const conn = await open(t);
    conn.write(plain('/echo/still'));
    t.equal((await conn.response()).status, 200, 'the gateway still serves');
  });
});

t.test('entrypoints with writeTimeout or keepAliveMaxRequests keep every connection with Node', async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const dynamic = { http: { routers: { r: { rule: 'Host(`direct.test`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: backend.url }] } } } } };
  const cases: [string, Record<string, unknown>][] = [
    ['writeTimeout', { respondingTimeouts: { writeTimeout: '5s' } }],
    ['keepAliveMaxRequests', { keepAliveMaxRequests: 10 }],
  ];
  for (const [name, transport] of cases) {
    const gw = await startTestGateway(dynamic, { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport } } } });
    const conn = await RawConn.open(gw.port);
    conn.write(plain('/echo/a'));
    const res = await conn.response();
    conn.destroy();
    await gw.close();
    t.equal(res.status, 200, `${name}: answered`);
    t.same({ ...gw.gateway.directStats('web') }, { requests: 0, handOffs: 0 }, `${name}: by Node's server, never taken by the direct path`);
  }
});

t.test('graceful shutdown lets a direct request in flight finish, with Connection: close', async (t) => {
  const backend = await startBackend();
  const gw: TestGateway = await startTestGateway({
    http: { routers: { r: { rule: 'Host(`direct.test`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: backend.url }] } } } },
  });
  t.teardown(async () => {
    await gw.close();
    await backend.close();
  });
  const before = { ...gw.gateway.directStats('web')! };
  const busy = await RawConn.open(gw.port);
  const idle = await RawConn.open(gw.port);
  t.teardown(() => {
    busy.destroy();
    idle.destroy();
  });
  idle.write(plain('/echo/idle'));
  t.equal((await idle.response()).status, 200, 'a kept-alive connection, idle at shutdown');
  busy.write(plain('/slow?ms=600&id=shutdown'));
  await within(2000, 'backend got the request', (async () => {
    while (!backend.waiting.has('shutdown')) await sleep(10);
  })());
  const closing = gw.close();
  await t.resolves(idle.waitClosed(500), 'the idle connection is closed at once');
  const res = await busy.response({ timeoutMs: 3000 });
  t.equal(res.status, 200, 'the request in flight completes');
  t.equal(res.body.toString(), 'slow shutdown');
  t.equal(res.headers.connection, 'close', 'its response says Connection: close');
  t.notOk('keep-alive' in res.headers, 'and no Keep-Alive');
  await t.resolves(busy.waitClosed(2000), 'then the connection closes');
  await within(3000, 'gateway.close()', closing);
  const after = gw.gateway.directStats('web')!;
  t.same({ requests: after.requests - before.requests, handOffs: after.handOffs - before.handOffs }, { requests: 2, handOffs: 0 }, 'both requests were direct');
});
