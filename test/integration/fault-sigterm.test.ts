import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

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
