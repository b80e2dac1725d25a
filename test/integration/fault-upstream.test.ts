import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { request } from '../helpers/http';

/**
 * Upstream faults and client aborts, in bounded loops on loopback: nothing
 * crashes the process, every socket is released, memory stays bounded.
 */

interface Backend {
  url: string;
  server: http.Server;
  connections(): Promise<number>;
  close(): Promise<void>;
}

async function backend(handler: http.RequestListener): Promise<Backend> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    connections: () => new Promise((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n)))),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const gatewayConnections = (gw: TestGateway): Promise<number> =>
  new Promise((r, j) => gw.gateway.listener('web')!.getConnections((e, n) => (e ? j(e) : r(n))));

async function settle(what: string, read: () => Promise<number>, want: (n: number) => boolean, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = await read();
  while (!want(n) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = await read();
  }
  return n;
}

const route = (url: string): Parameters<typeof startTestGateway>[0] => ({
  http: { routers: { r: { rule: 'PathPrefix(`/`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url }] } } } },
});

let uncaught = 0;
const onUncaught = (): void => void uncaught++;
process.on('uncaughtException', onUncaught);
t.teardown(() => void process.off('uncaughtException', onUncaught));

t.test('an upstream that resets at any point: 502 before the client got a head, an aborted response after, never a crash', async (t) => {
  // Where the backend cuts its socket, chosen by the request path.
  const cuts: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
    '/before-headers': (req) => req.socket.destroy(),
    '/reset-before-headers': (req) => (req.socket as net.Socket).resetAndDestroy(),
    '/after-headers': (req, res) => {
      res.writeHead(200, { 'content-length': '5000' });
      res.flushHeaders();
      setTimeout(() => req.socket.destroy(), 20);
    },
    '/mid-body': (req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(3000), () => (req.socket as net.Socket).resetAndDestroy());
    },
    '/mid-chunked': (req, res) => {
      res.writeHead(200);
      res.write('x'.repeat(3000), () => req.socket.destroy());
    },
  };
  const up = await backend((req, res) => cuts[req.url ?? '']?.(req, res));
  const gw = await startTestGateway(route(up.url));
  t.teardown(async () => {
    await gw.close();
    await up.close();
  });
  const expected: Record<string, string> = {
    '/before-headers': '502',
    '/reset-before-headers': '502',
    // Its head never reached the client (held for the body, which never came): an honest 502, not a torn 200.
    '/after-headers': '502',
    '/mid-body': 'aborted',
    '/mid-chunked': 'aborted',
  };
  const paths = Object.keys(cuts);
  const outcomes: Record<string, Set<string>> = Object.fromEntries(paths.map((p) => [p, new Set<string>()]));
  // 200 requests, 10 at a time.
  for (let round = 0; round < 20; round++) {
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const path = paths[(round * 10 + i) % paths.length];
        const outcome = await request(`${gw.url}${path}`, { timeoutMs: 5000 }).then(
          (r) => String(r.status),
          (e: Error) => (/aborted|ECONNRESET|socket hang up/.test(e.message) ? 'aborted' : e.message),
        );
        outcomes[path].add(outcome);
      }),
    );
  }
  for (const p of paths) t.same([...outcomes[p]], [expected[p]], `${p}: always ${expected[p]}`);
  t.equal(uncaught, 0, 'no uncaught exception');
  t.equal(await settle('backend sockets', up.connections, (n) => n === 0), 0, 'no upstream socket left open');
  t.equal(await settle('gateway sockets', () => gatewayConnections(gw), (n) => n === 0), 0, 'no client socket left open');
});

t.test('an upstream that stalls mid-response: the client is cut by writeTimeout, the upstream socket is released', async (t) => {
  const up = await backend((_req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write('partial');
  });
  const gw = await startTestGateway(route(up.url), {
    staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport: { respondingTimeouts: { writeTimeout: '1s' } } } } },
  });
  t.teardown(async () => {
    await gw.close();
    await up.close();
  });
  const cases = [
    { name: 'client waits: writeTimeout ends it', clientTimeoutMs: 10_000, maxMs: 1000 + 2000 },
    { name: 'client gives up first', clientTimeoutMs: 300, maxMs: 300 + 2000 },
  ];
  for (const c of cases) {
    const started = Date.now();
    const outcome = await request(gw.url, { timeoutMs: c.clientTimeoutMs }).then(
      (r) => `complete ${r.status}`,
      (e: Error) => `failed: ${e.message}`,
    );
    const elapsed = Date.now() - started;
    t.match(outcome, /^failed/, `${c.name}: the truncated response is not delivered as complete (${outcome})`);
    t.ok(elapsed < c.maxMs, `${c.name}: ended after ${elapsed} ms`);
    t.equal(await settle('backend sockets', up.connections, (n) => n === 0), 0, `${c.name}: the stalled upstream socket is closed`);
  }
  t.equal(uncaught, 0, 'no uncaught exception');
});

t.test('WebSocket connections reset by either side: no crash, both sockets released', async (t) => {
  // After a 101 Node detaches the sockets from HTTP, so their errors have no default handler (http-proxy #1468).
  const up = await backend(() => undefined);
  up.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => undefined);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    if (req.url === '/backend-resets') setTimeout(() => socket.resetAndDestroy(), 50);
    else {
      const flood = setInterval(() => socket.writable && socket.write(Buffer.alloc(16_384)), 5);
      socket.once('close', () => clearInterval(flood));
    }
  });
  const gw = await startTestGateway(route(up.url));
  t.teardown(async () => {
    await gw.close();
    await up.close();
  });
  const open = (path: string): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const req = http.request(`${gw.url}${path}`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } });
      req.on('upgrade', (_res, socket: net.Socket) => {
        socket.on('error', () => undefined);
        resolve(socket);
      });
      req.on('error', reject);
      req.end();
    });
  for (let i = 0; i < 20; i++) {
    const byBackend = await open('/backend-resets');
    await new Promise((r) => byBackend.once('close', r));
    const byClient = await open('/client-resets');
    await new Promise((r) => byClient.once('data', r));
    byClient.resetAndDestroy();
  }
  t.equal(uncaught, 0, 'no uncaught exception after 40 reset WebSocket connections');
  t.equal(await settle('backend sockets', up.connections, (n) => n === 0), 0, 'no upstream socket left open');
  t.equal(await settle('gateway sockets', () => gatewayConnections(gw), (n) => n === 0), 0, 'no client socket left open');
});

/** `global.gc`, made available without restarting node with --expose-gc. */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

t.test('10,000 client aborts against a slow backend leave no upstream socket and bounded memory', async (t) => {
  let received = 0;
  /** Clients waiting for the backend to have their request before they vanish, by request number. */
  const forwarded = new Map<string, () => void>();
  // Slower than the whole test: an upstream request the gateway failed to abort stays visible as an open socket.
  const up = await backend((req, res) => {
    if (!req.url?.startsWith('/slow')) return void res.end('fast');
    received++;
    const id = req.url.slice('/slow?'.length);
    forwarded.get(id)?.();
    forwarded.delete(id);
    const timer = setTimeout(() => res.end('late'), 120_000);
    // The backend shares this process: its own state must not count as the gateway's growth.
    res.once('close', () => clearTimeout(timer));
  });
  const gw = await startTestGateway(route(up.url));
  t.teardown(async () => {
    await gw.close();
    await up.close();
  });
  const gc = gcFunction();
  let sent = 0;
  // Half the clients vanish once the backend has their request (an in-flight upstream exchange to abort), half
  // right after sending (the upstream connection may not even be open yet).
  const abortOnce = (): Promise<void> =>
    new Promise((resolve) => {
      const id = String(sent++);
      const s = net.connect({ host: '127.0.0.1', port: gw.port }, () => {
        const vanish = (): void => void s.destroy();
        if (Number(id) % 2) {
          forwarded.set(id, vanish);
          const bound = setTimeout(vanish, 2000);
          s.once('close', () => clearTimeout(bound));
        }
        s.write(`GET /slow?${id} HTTP/1.1\r\nHost: abort.localhost\r\n\r\n`, () => {
          if (!forwarded.has(id)) setImmediate(vanish);
        });
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
  const total = 10_000;
  const concurrency = 50;
  const started = Date.now();
  // Bounded in time too: on a machine too loaded to finish, the count assertion says so.
  const run = async (n: number): Promise<number> => {
    let next = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n && Date.now() - started < 80_000) {
          next++;
          await abortOnce();
          done++;
        }
      }),
    );
    return done;
  };
  // A warm-up, so module loading, JIT and malloc arenas growing to their working size are not counted as growth.
  await run(2000);
  await settle('warm-up sockets', up.connections, (n) => n === 0);
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  received = 0;
  const done = await run(total);
  t.equal(done, total, `${done} aborts in ${Date.now() - started} ms`);
  t.ok(received >= total / 2, `the backend saw ${received} of them (at least the half that waited to be forwarded)`);
  t.equal(await settle('backend sockets', up.connections, (n) => n === 0), 0, 'every upstream socket is closed');
  t.equal(await settle('gateway sockets', () => gatewayConnections(gw), (n) => n === 0), 0, 'every client socket is closed');
  gc();
  const rssGrowth = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  const heapGrowth = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  // RSS is a coarse signal (allocator retention varies run to run); the heap and socket counts are the sharp ones.
  t.ok(rssGrowth < 80, `RSS grew ${rssGrowth.toFixed(1)} MiB (< 80, i.e. < 8 KiB per aborted request)`);
  t.ok(heapGrowth < 20, `heap grew ${heapGrowth.toFixed(1)} MiB (< 20)`);
  t.equal(uncaught, 0, 'no uncaught exception');
  t.equal((await request(`${gw.url}/after`, { timeoutMs: 5000 })).status, 200, 'the gateway still serves');
});
