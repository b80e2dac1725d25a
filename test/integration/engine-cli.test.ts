import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEngineCommand } from '../../src/engine/cli';
import { EngineClient } from '../../src/engine/client';
import { alive, get, waitFor } from './engine-fixtures';

const runner = path.join(__dirname, 'engine-cli-runner.ts');
const examples = path.resolve(__dirname, '../../examples/stacks');
const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `portier <args>` in a child process; killed at teardown if still running. */
function start(t: { teardown(fn: () => void | Promise<void>): void }, args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [...process.execArgv, runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  // SIGTERM first: an engine killed with SIGKILL cannot stop its replicas.
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await new Promise((r) => child.once('exit', r));
    clearTimeout(timer);
  });
  return Object.assign(child, { output: () => output });
}

async function cli(args: string[], socket: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runEngineCommand([...args, '--engine-socket', socket], { stdout: (s) => (out += s), stderr: (s) => (err += s), cwd: dir });
  return { code, out, err };
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

t.test('the example stacks through the CLI; SIGTERM of the engine leaves no process behind', async (t) => {
  const socket = path.join(dir, 'a', 'engine.sock');
  const engine = start(t, ['engine', '--engine-socket', socket]);
  await waitFor('engine listening', () => engine.output().includes('listening on'));

  const up = await cli(['up', '-d', '-f', path.join(examples, 'shop', 'stack.yml'), '-f', path.join(examples, 'blog', 'stack.yml')], socket);
  t.equal(up.code, 0, up.err);
  t.match(up.out, /shop-web: 3 replicas started\nshop-api: 1 replica started\nblog-web: 1 replica started/);

  const client = new EngineClient(socket);
  type Item = { Names: string[]; Ports: { PublicPort: number }[]; Status: string; Id: string };
  await waitFor('shop web healthy', async () => (await client.call<Item[]>('GET', '/containers/json')).filter((c) => /\(healthy\)/.test(c.Status)).length === 4);
  const list = await client.call<Item[]>('GET', '/containers/json');
  const answers = await Promise.all(list.filter((c) => c.Names[0].startsWith('/shop-web')).map((c) => get(c.Ports[0].PublicPort)));
  t.same(answers.map((a) => a.body).sort(), [1, 2, 3].map((n) => `welcome to the shop, served by shop-web-${n}\n`));

  const ps = await cli(['ps', '-p', 'shop'], socket);
  t.match(ps.out, /^NAME\s+PROJECT\s+SERVICE\s+STATUS\s+ADDRESS\nshop-api-1\s+shop\s+api\s+Up .*127\.0\.0\.1:\d+\nshop-web-1 /);
  t.notMatch(ps.out, /blog/);

  t.equal((await cli(['scale', '-p', 'shop', 'web=1'], socket)).code, 0);
  t.same((await client.call<Item[]>('GET', '/containers/json?filters={"label":["com.docker.compose.service=web","com.docker.compose.project=shop"]}')).map((c) => c.Names[0]), ['/shop-web-1']);

  const logs = await cli(['logs', '-p', 'blog', 'web'], socket);
  t.match(logs.out, /^blog-web-1 \| blog-web-1 listening on http:\/\/127\.0\.0\.1:\d+\/\n/);

  const restarted = await cli(['restart', '-p', 'blog'], socket);
  t.equal(restarted.code, 0, restarted.err);
  await waitFor('restarted replica logs again', async () => /blog-web-1 \| blog-web-1 stopping\n(.|\n)*listening/.test((await cli(['logs', '-p', 'blog'], socket)).out));

  const cases = [
    { name: 'same project twice', args: ['up', '-d', '-f', path.join(examples, 'shop', 'stack.yml')], code: 1, err: /project "shop" is already up/ },
    { name: 'ambiguous project', args: ['down'], code: 1, err: /several projects are running \(shop, blog\): choose one with -p/ },
    { name: 'unknown service', args: ['scale', '-p', 'shop', 'db=2'], code: 1, err: /no service "db" in project "shop"/ },
    { name: 'bad stack file', args: ['up', '-d', '-f', 'bad.yml'], code: 1, err: /bad\.yml:4: services\.web\.ports: not supported by the runtime core/ },
    { name: 'usage', args: ['up', '--bogus'], code: 2, err: /unknown flag --bogus\nusage:/ },
  ];
  writeFileSync(path.join(dir, 'bad.yml'), 'name: bad\nservices:\n  web:\n    ports: ["80"]\n    command: x\n');
  for (const c of cases) {
    const r = await cli(c.args, socket);
    t.equal(r.code, c.code, c.name);
    t.match(r.err, c.err, c.name);
  }
  const none = await cli(['ps'], path.join(dir, 'nobody.sock'));
  t.match(none, { code: 1, err: /no engine is running at .*nobody\.sock/ });

  const pids = await Promise.all((await client.call<Item[]>('GET', '/containers/json')).map(async (c) => (await client.call<{ State: { Pid: number } }>('GET', `/containers/${c.Id}/json`)).State.Pid));
  t.equal(pids.length, 3);
  t.ok(pids.every((p) => p > 0 && alive(p)));
  engine.kill('SIGTERM');
  t.equal(await exited(engine), 0);
  t.same(pids.filter(alive), [], 'every replica stopped with the engine');
});

t.test('attached up follows the logs and Ctrl-C brings the project down', async (t) => {
  const socket = path.join(dir, 'b', 'engine.sock');
  const engine = start(t, ['engine', '--engine-socket', socket]);
  await waitFor('engine listening', () => engine.output().includes('listening on'));
  const up = start(t, ['up', '-f', path.join(examples, 'blog', 'stack.yml'), '--engine-socket', socket]);
  await waitFor('logs followed', () => /blog-web-1 \| blog-web-1 listening on/.test(up.output()));
  up.kill('SIGINT');
  t.equal(await exited(up), 0);
  t.match(up.output(), /blog: stopping/);
  const ps = await cli(['ps'], socket);
  t.equal(ps.out.trim(), 'NAME   PROJECT   SERVICE   STATUS   ADDRESS');
});

t.test('an engine killed with SIGKILL still takes its replicas with it', async (t) => {
  const socket = path.join(dir, 'c', 'engine.sock');
  const engine = start(t, ['engine', '--engine-socket', socket]);
  await waitFor('engine listening', () => engine.output().includes('listening on'));
  const file = path.join(dir, 'killed.yml');
  writeFileSync(file, 'name: killed\nservices:\n  forks: {command: "sleep 300 & sleep 300; wait", scale: 2}\n  stubborn: {command: "trap \'\' TERM; while true; do sleep 0.1; done"}\n');
  t.equal((await cli(['up', '-d', '-f', file], socket)).code, 0);
  const client = new EngineClient(socket);
  const ids = (await client.call<{ Id: string }[]>('GET', '/containers/json')).map((c) => c.Id);
  const pids = await Promise.all(ids.map(async (id) => (await client.call<{ State: { Pid: number } }>('GET', `/containers/${id}/json`)).State.Pid));
  t.equal(pids.length, 3);
  t.ok(pids.every(alive));
  engine.kill('SIGKILL');
  await exited(engine);
  await waitFor('replicas gone', () => pids.every((p) => !alive(p)), 10_000);
  t.pass('no replica outlived the engine');
});
