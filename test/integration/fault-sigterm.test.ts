import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { spawnPortier } from '../helpers/cli-process';
import { deadPort, startSilentServer } from '../helpers/dead-peers';

/**
 * SIGTERM on the real `portier` process (dist/, built by `npm test`'s
 * pretest): the request in flight finishes with 200, new connections are
 * refused, an idle keep-alive connection is closed at once, and the process
 * exits 0 well before graceTimeOut.
 */
const CLI = path.resolve(__dirname, '../../dist/src/cli.js');
const GRACE_MS = 10_000;
const SLOW_MS = 1500;

function get(port: number, urlPath: string, agent: http.Agent | false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host: 'drain.localhost' }, agent, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
  });
}

const connects = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

t.test('SIGTERM drains: in-flight completes, new connections refused, exit 0 before the grace period', async (t) => {
  t.ok(existsSync(CLI), `${CLI} exists (npm test builds it first)`);
  if (!existsSync(CLI)) return;
  let slowSeen = 0;
  const backend = http.createServer((req, res) => {
    if (req.url !== '/slow') return void res.end('fast');
    slowSeen++;
    setTimeout(() => res.end('slow done'), SLOW_MS);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    backend.closeAllConnections();
    backend.close();
  });
  const dir = t.testdir({});
  writeFileSync(
    path.join(dir, 'dynamic.yaml'),
    `http:\n  routers:\n    drain:\n      rule: Host(\`drain.localhost\`)\n      service: drain\n  services:\n    drain:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:${(backend.address() as AddressInfo).port}\n`,
  );
  writeFileSync(
    path.join(dir, 'portier.yaml'),
    `entryPoints:\n  web:\n    address: 127.0.0.1:0\n    transport:\n      lifeCycle:\n        graceTimeOut: ${GRACE_MS / 1000}s\nproviders:\n  file:\n    filename: dynamic.yaml\n    watch: false\nlog:\n  level: info\n`,
  );
  const child = spawn(process.execPath, [CLI, '--config', path.join(dir, 'portier.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 30_000;
  const listening = /entryPoint=web address=127\.0\.0\.1:(\d+)/;
  while (!listening.test(output) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const port = Number(listening.exec(output)?.[1]);
  t.ok(port > 0, `portier is serving on ${port}`);
  if (!port) return void t.comment(output);

  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => keepAlive.destroy());
  let first = { status: 0, body: '' };
  while (first.status !== 200 && Date.now() < deadline) {
    first = await get(port, '/', keepAlive);
    if (first.status !== 200) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(first.status, 200, 'serving the file route');
  const idle = [...Object.values(keepAlive.freeSockets).flat()][0];
  t.ok(idle, 'an idle keep-alive connection is open');
  const idleClosed = new Promise<number>((resolve) => idle!.once('close', () => resolve(Date.now())));

  const inFlight = get(port, '/slow', false);
  while (slowSeen === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const signalledAt = Date.now();
  child.kill('SIGTERM');

  let refused = false;
  while (!refused && Date.now() - signalledAt < SLOW_MS) {
    refused = !(await connects(port));
    if (!refused) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(refused, `new connections are refused ${Date.now() - signalledAt} ms after SIGTERM, while a request is in flight`);
  const answer = await inFlight;
  t.same(answer, { status: 200, body: 'slow done' }, 'the in-flight request completes');
  t.ok((await idleClosed) - signalledAt < SLOW_MS, 'the idle keep-alive connection was closed without waiting for the in-flight one');
  const code = await exited;
  const exitMs = Date.now() - signalledAt;
  t.equal(code, 0, 'exit code 0');
  t.ok(exitMs < GRACE_MS, `exited ${exitMs} ms after SIGTERM (grace ${GRACE_MS} ms)`);
});

/**
 * SIGTERM while an ACME order is stuck on an unreachable CA: acme-client
 * retries a refused connection 5 times with growing pauses (over a minute
 * in all), and a CA that accepts and never answers held the order for
 * good. The process still exits within graceTimeOut plus a second,
 * through its normal stop (exit 0), not the deadline.
 */
t.test('SIGTERM exits within graceTimeOut + 1 s while ACME orders hang on an unreachable CA', async (t) => {
  const graceMs = 2000;
  const closedPort = await deadPort();
  const silent = await startSilentServer(t);
  const cases = [
    { name: 'connection refused', caServer: `https://127.0.0.1:${closedPort}/dir` },
    { name: 'accepts and never answers', caServer: `https://127.0.0.1:${silent.port}/dir` },
  ];
  for (const c of cases) {
    const dir = t.testdir({});
    const portier = spawnPortier(t, dir, {
      'portier.yaml': `entryPoints:
  websecure:
    address: 127.0.0.1:0
    transport:
      lifeCycle:
        graceTimeOut: ${graceMs / 1000}s
providers:
  file:
    filename: dynamic.yaml
    watch: false
certificatesResolvers:
  le:
    acme:
      caServer: ${c.caServer}
      storage: ./le.json
      tlsChallenge: {}
dataDir: ${dir}
log:
  level: info
`,
      'dynamic.yaml': `http:
  routers:
    app:
      rule: Host(\`app.example.test\`)
      service: app
      tls:
        certResolver: le
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:1
`,
    });
    if (!portier) return;
    const ordering = await portier.waitFor(/ACME: obtaining a certificate/, 30_000);
    // The signal handlers are installed once startup has printed its summary.
    const started = await portier.waitFor(/Portier is (serving|running)/, 30_000);
    t.ok(ordering && started, `${c.name}: started and ordering a certificate`);
    if (!ordering || !started) return void t.comment(portier.output());
    // Past the first attempt: a refused order is now in acme-client's pause, a silent one in its request.
    await new Promise((r) => setTimeout(r, 300));
    const signalledAt = Date.now();
    portier.child.kill('SIGTERM');
    const { code, at } = await portier.exited;
    const exitMs = at - signalledAt;
    t.equal(code, 0, `${c.name}: exit code 0 (a normal stop, not the deadline)`);
    t.ok(exitMs < graceMs + 1000 + 250, `${c.name}: exited ${exitMs} ms after SIGTERM (grace ${graceMs} ms)`);
    t.match(portier.output(), /ACME: order abandoned, the process is stopping/, `${c.name}: the order was abandoned`);
  }
});

/**
 * The deadline itself, reached by a stop that really lasts: a runtime
 * service that ignores SIGTERM with a stop_grace_period of a minute. At
 * graceTimeOut plus a second the process exits anyway (code 1), says what
 * it was still waiting for, and leaves no replica behind.
 */
t.test('SIGTERM: past graceTimeOut + 1 s the process exits anyway and says what was pending', async (t) => {
  const graceMs = 1000;
  const dir = t.testdir({});
  // Unix socket paths are short (108 bytes): not under the test's folder.
  const sockDir = mkdtempSync(path.join(os.tmpdir(), 'portier-deadline-'));
  t.teardown(() => rmSync(sockDir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'stubborn.pid');
  const stubborn = `require('fs').writeFileSync(process.env.PID_FILE, String(process.pid)); process.on('SIGTERM', () => undefined); require('http').createServer((q, s) => s.end('up')).listen(process.env.PORT)`;
  const portier = spawnPortier(t, dir, {
    'stack.yml': `name: slow
services:
  stubborn:
    command: ["node", "-e", ${JSON.stringify(stubborn)}]
    environment:
      PID_FILE: ${pidFile}
    stop_grace_period: 60s
`,
    'portier.yaml': `entryPoints:
  web:
    address: 127.0.0.1:0
    transport:
      lifeCycle:
        graceTimeOut: ${graceMs / 1000}s
providers:
  runtime:
    stacks: [stack.yml]
    socket: ${path.join(sockDir, 'engine.sock')}
dataDir: ${dir}
log:
  level: info
`,
  });
  if (!portier) return;
  const started = await portier.waitFor(/Portier is (serving|running)/, 30_000);
  let pid = 0;
  const deadline = Date.now() + 10_000;
  while (!pid && Date.now() < deadline) {
    pid = Number(existsSync(pidFile) ? readFileSync(pidFile, 'utf8') : 0);
    if (!pid) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(started && pid > 0, `started, the stubborn replica runs as ${pid}`);
  if (!started || !pid) return void t.comment(portier.output());
  const signalledAt = Date.now();
  portier.child.kill('SIGTERM');
  const { code, at } = await portier.exited;
  const exitMs = at - signalledAt;
  t.equal(code, 1, 'exit code 1: the stop was cut short');
  t.ok(exitMs >= graceMs + 1000 && exitMs < graceMs + 1000 + 1000, `exited ${exitMs} ms after SIGTERM, at the deadline (${graceMs + 1000} ms)`);
  t.match(portier.output(), /stopping: deadline passed, exiting with work still pending deadlineMs=2000 pending="runtime engine"/, 'says what it was waiting for');
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  // Killed as the process exits; gone once its new parent has reaped it.
  const reaped = Date.now() + 2000;
  while (alive() && Date.now() < reaped) await new Promise((r) => setTimeout(r, 25));
  t.notOk(alive(), 'the replica did not outlive it');
});
