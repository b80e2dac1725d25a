import t from 'tap';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from '../helpers/http';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli.js');

function engineGet(socketPath: string, path: string): Promise<unknown> {
  return new Promise((ok, fail) => {
    http
      .get({ socketPath, path }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => ok(JSON.parse(body)));
      })
      .on('error', fail);
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('portier with its runtime core: prints the URLs, balances replicas, and leaves no process behind on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portier-start-'));
  const socket = join(dir, 'engine.sock');
  writeFileSync(
    join(dir, 'portier.yaml'),
    `entryPoints:
  web:
    address: 127.0.0.1:0
providers:
  runtime:
    stacks: [${join(ROOT, 'examples/stacks/shop/stack.yml')}]
    socket: ${socket}
log:
  level: warn
`,
  );
  const child = spawn(process.execPath, [CLI, '--config', join(dir, 'portier.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const deadline = Date.now() + 30_000;
  while (!/web\.shop\.localhost:\d+\/.*3 servers up/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const m = /http:\/\/web\.shop\.localhost:(\d+)\/\s+→\s+web-shop@runtime \(3 servers up\)/.exec(out);
  t.ok(m, `prints the route with its replicas:\n${out}`);
  if (!m) return;
  const port = Number(m[1]);

  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await request(`http://127.0.0.1:${port}/`, { host: 'web.shop.localhost' });
    t.equal(r.status, 200);
    seen.add(String(r.headers['x-replica']));
  }
  t.same([...seen].sort(), ['shop-web-1', 'shop-web-2', 'shop-web-3'], 'balanced over the three replicas');

  const list = (await engineGet(socket, '/containers/json')) as { Id: string }[];
  const pids = await Promise.all(list.map(async (c) => ((await engineGet(socket, `/containers/${c.Id}/json`)) as { State: { Pid: number } }).State.Pid));
  t.equal(pids.filter((p) => p > 0 && alive(p)).length, 4, 'the engine runs web ×3 and api');

  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 on SIGTERM');
  t.same(pids.filter(alive), [], 'no replica outlives it');
});
