import t from 'tap';
import http from 'node:http';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { spawnPortier, type PortierProcess } from '../helpers/cli-process';
import { freePort } from '../helpers/pebble';
import { RawConn } from '../helpers/raw-conn';

/**
 * `workers: 2` through the real CLI (docs/workers.md): two workers serve
 * one port, a change and the primary's health verdicts reach both, a
 * broken change leaves both on the old table, /metrics and the one access
 * log count what both served, a rate limit and an in-flight
 * cap hold across them, a SIGKILLed worker costs only its in-flight
 * requests and its place is served again within a second, and SIGTERM
 * drains the whole group. Which worker holds a connection is read from
 * /proc: the process whose descriptor is the connection's server side.
 */

const RATE = { average: 100, burst: 20 };
const IN_FLIGHT = 4;

function dynamic(extra = ''): string {
  return `http:
  routers:
    r: { rule: "Host(\`a.localhost\`)", service: s, entryPoints: [web] }
    limited: { rule: "Host(\`limited.localhost\`)", service: s, entryPoints: [web], middlewares: [rl] }
    capped: { rule: "Host(\`capped.localhost\`)", service: s, entryPoints: [web], middlewares: [cap] }
    checked: { rule: "Host(\`checked.localhost\`)", service: h, entryPoints: [web] }
${extra}  middlewares:
    rl: { rateLimit: { average: ${RATE.average}, burst: ${RATE.burst}, period: 1s, sourceCriterion: { requestHost: true } } }
    cap: { inFlightReq: { amount: ${IN_FLIGHT} } }
  services:
    s: { loadBalancer: { servers: [ { url: "http://127.0.0.1:${backendPort}" } ] } }
    h:
      loadBalancer:
        healthCheck: { path: /health, interval: 200ms, timeout: 1s }
        servers: [ { url: "http://127.0.0.1:${backendPort}" }, { url: "http://127.0.0.1:${sickPort}" } ]
`;
}
let backendPort = 0;
/** A server whose health check fails: only the primary checks it, and every worker must skip it. */
let sickPort = 0;

/** The pid whose descriptors hold the server side of the connection from `clientPort` to `port` (IPv4 loopback). */
function holderOf(port: number, clientPort: number, pids: number[]): number | undefined {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  const line = readFileSync('/proc/net/tcp', 'utf8').split('\n').find((l) => {
    const f = l.trim().split(/\s+/);
    return f[1]?.endsWith(`:${hex(port)}`) && f[2]?.endsWith(`:${hex(clientPort)}`);
  });
  const inode = line?.trim().split(/\s+/)[9];
  if (!inode) return undefined;
  return pids.find((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

/** The child processes of `pid` (none once it exited). */
function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** One kept-alive connection per worker serving `port`: connections are opened until each worker holds one. */
async function connectionPerWorker(port: number, workers: number[]): Promise<Map<number, RawConn>> {
  const held = new Map<number, RawConn>();
  for (let i = 0; i < 40 && held.size < workers.length; i++) {
    const conn = await RawConn.open(port);
    conn.write('GET / HTTP/1.1\r\nHost: a.localhost\r\n\r\n');
    await conn.response();
    const pid = holderOf(port, conn.socket.localPort!, workers);
    if (pid !== undefined && !held.has(pid)) held.set(pid, conn);
    else conn.destroy();
  }
  return held;
}

async function get(port: number, host: string, agent: http.Agent | false = false): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** `clients` loops of requests, each on a new connection, until `ms` passed: the statuses (0 = failed). */
async function load(port: number, host: string, clients: number, ms: number): Promise<number[]> {
  const statuses: number[] = [];
  const until = Date.now() + ms;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (Date.now() < until) statuses.push(await get(port, host));
  }));
  return statuses;
}

async function metric(port: number, name: string, labels: string): Promise<number> {
  const body = await new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  const line = body.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && labels.split(',').every((p) => l.includes(p)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

t.test('workers: 2 serve one port and keep global state global', async (t) => {
  let delayMs = 0;
  const backend = http.createServer((req, res) => {
    setTimeout(() => res.end('ok'), req.headers.host === 'capped.localhost' ? 300 : delayMs);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as AddressInfo).port;
  const sick = http.createServer((req, res) => {
    res.statusCode = req.url === '/health' ? 500 : 200;
    res.end('sick');
  });
  await new Promise<void>((r) => sick.listen(0, '127.0.0.1', r));
  sickPort = (sick.address() as AddressInfo).port;
  t.teardown(() => {
    for (const s of [backend, sick]) {
      s.closeAllConnections();
      s.close();
    }
  });
  const [web, api] = [await freePort(), await freePort()];
  const dir = t.testdir({});
  const p = spawnPortier(t, dir, {
    'portier.yaml': `workers: 2
entryPoints:
  web: { address: "127.0.0.1:${web}", transport: { lifeCycle: { graceTimeOut: 3s } } }
  traefik: { address: "127.0.0.1:${api}" }
api: {}
metrics: { prometheus: { entryPoint: traefik } }
accessLog: { filePath: access.log, format: json }
providers: { providersThrottleDuration: 10ms, file: { filename: dynamic.yaml } }
`,
    'dynamic.yaml': dynamic(),
  }) as PortierProcess;
  t.teardown(() => {
    for (const pid of children(p.child.pid!)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
  t.ok(await p.waitFor(/Portier is serving/, 30_000), 'the group serves');
  const workers = (): number[] => children(p.child.pid!);
  t.equal(workers().length, 3, 'two workers and the spare');

  const conns = await connectionPerWorker(web, workers());
  t.equal(conns.size, 2, 'both workers hold connections to the one port');

  await t.test('a change reaches every worker', async (t) => {
    writeFileSync(path.join(dir, 'dynamic.yaml'), dynamic('    b: { rule: "Host(`b.localhost`)", service: s, entryPoints: [web] }\n'));
    for (const [pid, conn] of conns) {
      let status = 0;
      for (let i = 0; i < 60 && status !== 200; i++) {
        conn.write('GET / HTTP/1.1\r\nHost: b.localhost\r\n\r\n');
        status = (await conn.response()).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      t.equal(status, 200, `worker ${pid} serves the new router`);
    }
  });

  await t.test("the primary's health verdicts reach every worker", async (t) => {
    for (const [pid, conn] of conns) {
      const bodies = new Set<string>();
      for (let i = 0; i < 6; i++) {
        conn.write('GET / HTTP/1.1\r\nHost: checked.localhost\r\n\r\n');
        bodies.add((await conn.response()).body.toString());
      }
      t.same([...bodies], ['ok'], `worker ${pid} skips the server the primary found down`);
    }
  });

  await t.test('a broken change keeps every worker on the old table, the error in the API', async (t) => {
    writeFileSync(path.join(dir, 'dynamic.yaml'), dynamic('    b: { rule: "Host(`b.localhost`", service: s, entryPoints: [web] }\n'));
    let status = '';
    for (let i = 0; i < 60 && status !== 'warning'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const reply = await new Promise<string>((resolve) => {
        http.get({ host: '127.0.0.1', port: api, path: '/api/http/routers/b@file' }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        }).on('error', () => resolve('{}'));
      });
      status = (JSON.parse(reply) as { status?: string }).status ?? '';
    }
    t.equal(status, 'warning', 'the API shows the broken definition');
    for (const [pid, conn] of conns) {
      conn.write('GET / HTTP/1.1\r\nHost: b.localhost\r\n\r\n');
      t.equal((await conn.response()).status, 200, `worker ${pid} still serves the last good router`);
    }
    for (const conn of conns.values()) conn.destroy();
  });

  await t.test('/metrics counts what every worker served', async (t) => {
    const before = await metric(api, 'portier_router_requests_total', 'router="r@file",code="200"');
    const statuses = await load(web, 'a.localhost', 4, 600);
    const served = statuses.filter((s) => s === 200).length;
    t.equal(statuses.length, served, 'every request answered 200');
    t.equal(await metric(api, 'portier_router_requests_total', 'router="r@file",code="200"') - before, served, `the group's counter grew by the ${served} served`);
    const total = await metric(api, 'portier_router_requests_total', 'router="r@file",code="200"');
    const lines = (): string[] => readFileSync(path.join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean);
    const logged = (): number => lines().filter((l) => l.includes('"RouterName":"r@file"')).length;
    for (let i = 0; i < 40 && logged() < total; i++) await new Promise((r) => setTimeout(r, 50));
    t.equal(logged(), total, 'the one access log, written by the primary, has a line for each of them');
    t.ok(lines().every((l) => l.startsWith('{') && l.endsWith('}') && JSON.parse(l)), 'every line whole, none interleaved');
    const started = await metric(api, 'portier_process_start_time_seconds', '');
    t.ok(started > 0 && started <= Date.now() / 1000, 'the start time, which prom-client leaves out of an aggregate, is the primary\'s');
  });

  await t.test('rateLimit holds across workers within 10 %', async (t) => {
    const started = Date.now();
    const statuses = await load(web, 'limited.localhost', 6, 1500);
    const seconds = (Date.now() - started) / 1000;
    const allowed = statuses.filter((s) => s === 200).length;
    const expected = RATE.burst + RATE.average * seconds;
    t.equal(statuses.filter((s) => s !== 200 && s !== 429).length, 0, 'only 200 and 429');
    t.ok(allowed >= expected * 0.9 && allowed <= expected * 1.1, `${allowed} allowed of ${statuses.length} in ${seconds.toFixed(2)} s; the limit allows ${expected.toFixed(0)}`);
  });

  await t.test('inFlightReq holds across workers', async (t) => {
    const statuses = await Promise.all(Array.from({ length: 12 }, () => get(web, 'capped.localhost')));
    t.equal(statuses.filter((s) => s === 200).length, IN_FLIGHT, `${IN_FLIGHT} of 12 simultaneous requests served, the rest 429`);
  });

  await t.test('a SIGKILLed worker costs only its in-flight requests; the spare serves within a second', async (t) => {
    delayMs = 20;
    const [victim] = workers().filter((pid) => p.output().includes(`pid=${pid}`));
    const running = load(web, 'a.localhost', 4, 2500);
    await new Promise((r) => setTimeout(r, 800));
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const serving = await p.waitFor(/the spare serves in its place[^\n]*\n(?:[^\n]*\n)*?[^\n]*worker serving worker=3/, 5000);
    const servingAt = Date.now();
    const statuses = await running;
    const failed = statuses.filter((s) => s !== 200).length;
    t.ok(serving, 'the spare took the dead worker\'s place');
    t.ok(servingAt - killedAt < 1000, `serving again after ${servingAt - killedAt} ms`);
    t.ok(failed <= 4, `${failed} of ${statuses.length} requests failed: at most the 4 in flight`);
    const after = await connectionPerWorker(web, workers());
    t.equal(after.size, 2, 'two workers serve again');
    for (const conn of after.values()) conn.destroy();
  });

  await t.test('SIGTERM drains every worker within graceTimeOut', async (t) => {
    delayMs = 500;
    const inFlight = get(web, 'a.localhost');
    await new Promise((r) => setTimeout(r, 150));
    const pids = workers();
    const stoppedAt = Date.now();
    p.child.kill('SIGTERM');
    t.equal(await inFlight, 200, 'the request in flight finishes');
    const { code, at } = await p.exited;
    t.equal(code, 0, 'the primary exits 0');
    t.ok(at - stoppedAt < 3000, `stopped in ${at - stoppedAt} ms`);
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    t.same(alive, [], 'no worker is left');
  });
});
