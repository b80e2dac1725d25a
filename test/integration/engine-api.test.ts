import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { EngineApiServer } from '../../src/engine/api-server';
import { Engine } from '../../src/engine/engine';
import { helloApp, node, stackFile, waitFor } from './engine-fixtures';

const DOCKER_BIN = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p));
const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-api-'));
const socketPath = path.join(dir, 'sub', 'engine.sock');
const engine = new Engine({ drainDelayMs: 20 });
const api = new EngineApiServer(engine, { socketPath });
t.teardown(async () => {
  await api.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = stackFile(t, `
name: apitest
services:
  web:
    command: ["${node}", "${helloApp}"]
    scale: 2
    labels: {portier.enable: "true"}
    healthcheck: {test: ["HTTP", "/health"], interval: 200ms}
  job:
    command: "echo to-stdout; echo to-stderr >&2; exit 3"
`);

function docker(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(DOCKER_BIN as string, args, { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

t.before(async () => {
  await api.listen();
  await engine.up(file);
  await waitFor('web healthy', () => engine.list().filter((r) => r.service === 'web').every((r) => r.ready));
  await waitFor('job exited', () => engine.find('apitest-job-1')?.state === 'exited');
});

t.test('the socket is private and a second engine on it is refused', async (t) => {
  t.equal(statSync(socketPath).mode & 0o777, 0o600);
  const other = new EngineApiServer(new Engine(), { socketPath });
  await t.rejects(other.listen(), { code: 'ENGINE', message: /another engine is already listening/ });
});

t.test('a stale socket file from a dead engine is replaced', async (t) => {
  const stale = path.join(dir, 'stale.sock');
  // A killed engine leaves its socket file behind.
  const dead = spawn(node, ['-e', 'require("net").createServer().listen(process.argv[1], () => console.log("up"))', stale]);
  await new Promise((r) => dead.stdout.once('data', r));
  dead.kill('SIGKILL');
  await new Promise((r) => dead.once('exit', r));
  t.ok(existsSync(stale), 'stale file present');
  const e = new Engine();
  const fresh = new EngineApiServer(e, { socketPath: stale });
  await fresh.listen();
  t.teardown(async () => {
    await fresh.close();
    await e.close();
  });
  const ping = await new Docker({ socketPath: stale }).ping();
  t.equal(String(ping), 'OK');
});

t.test('dockerode lists with a label filter, inspects and streams events', async (t) => {
  const d = new Docker({ socketPath });
  const listed = await d.listContainers({ filters: { label: ['com.docker.compose.service=web'] } });
  t.same(listed.map((c) => c.Names[0]).sort(), ['/apitest-web-1', '/apitest-web-2']);
  t.match(listed[0], { Image: 'portier/runtime', State: 'running', Status: /^Up .* \(healthy\)$/, HostConfig: { NetworkMode: 'host' }, Labels: { 'portier.enable': 'true' } });
  const all = await d.listContainers({ all: true, filters: { status: ['exited'] } });
  t.same(all.map((c) => c.Names[0]), ['/apitest-job-1']);
  const info = await d.getContainer('apitest-web-1').inspect();
  const web1 = engine.find('apitest-web-1')!;
  t.match(info, {
    Id: web1.id,
    Name: '/apitest-web-1',
    State: { Status: 'running', Running: true, Pid: web1.pid, ExitCode: 0, Health: { Status: 'healthy', FailingStreak: 0 } },
    Config: { Labels: { 'com.docker.compose.project': 'apitest' }, ExposedPorts: { [`${web1.port}/tcp`]: {} }, Tty: false },
    HostConfig: { NetworkMode: 'host' },
  });
  t.ok(info.Config.Env.includes(`PORT=${web1.port}`) && info.Config.Env.includes('HOST=127.0.0.1'));
  const job = await d.getContainer(engine.find('apitest-job-1')!.id.slice(0, 12)).inspect();
  t.match(job.State, { Status: 'exited', ExitCode: 3, Running: false });
  await t.rejects(d.getContainer('nope').inspect(), { message: /HTTP code 404/, statusCode: 404 });

  const stream = (await d.getEvents({ filters: { label: ['com.docker.compose.project=apitest'] } })) as NodeJS.ReadableStream & { destroy(): void };
  const seen: { Action: string; name: string }[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      const e = JSON.parse(line);
      seen.push({ Action: e.Action, name: e.Actor.Attributes.name });
    }
  });
  await engine.scale('apitest', 'web', 3);
  await waitFor('create and start events', () => seen.some((e) => e.Action === 'start' && e.name === 'apitest-web-3'));
  await engine.scale('apitest', 'web', 2);
  await waitFor('destroy event', () => seen.some((e) => e.Action === 'destroy'));
  stream.destroy();
  t.same(seen.filter((e) => e.name === 'apitest-web-3').map((e) => e.Action).filter((a) => !a.startsWith('health')), ['create', 'start', 'kill', 'die', 'stop', 'destroy']);
});

t.test('the real docker CLI lists, inspects, streams events and shows logs', { skip: skipDocker() }, async (t) => {
  const ps = await docker(['ps', '--format', '{{.Names}}']);
  t.equal(ps.code, 0, ps.stderr);
  t.same(ps.stdout.trim().split('\n').sort(), ['apitest-web-1', 'apitest-web-2']);
  const psa = await docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  t.match(psa.stdout, /apitest-job-1 Exited \(3\) /);
  t.match((await docker(['ps'])).stdout, /CONTAINER ID\s+IMAGE\s+COMMAND[\s\S]*127\.0\.0\.1:\d+->\d+\/tcp\s+apitest-web-1/);
  const filtered = await docker(['ps', '-a', '--filter', 'label=com.docker.compose.service=job', '--format', '{{.Names}}']);
  t.equal(filtered.stdout.trim(), 'apitest-job-1');

  const inspect = await docker(['inspect', '--format', '{{.State.Health.Status}} {{index .Config.Labels "com.docker.compose.service"}} {{.HostConfig.NetworkMode}}', 'apitest-web-2']);
  t.equal(inspect.stdout.trim(), 'healthy web host', inspect.stderr);
  const missing = await docker(['inspect', 'nope']);
  t.not(missing.code, 0);
  t.match(missing.stderr, /No such object: nope/);

  const logs = await docker(['logs', 'apitest-job-1']);
  t.equal(logs.code, 0, logs.stderr);
  t.equal(logs.stdout, 'to-stdout\n');
  t.equal(logs.stderr, 'to-stderr\n');
  const stamped = await docker(['logs', '-t', '--tail', '1', 'apitest-web-1']);
  t.match(stamped.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z apitest-web-1 listening on http:\/\/127\.0\.0\.1:\d+\/\n$/);

  // The CLI sends `until` in whole seconds: let the second of the job's last event pass.
  const lastJobEvent = Math.max(...engine.events().filter((e) => e.Actor.Attributes.name === 'apitest-job-1').map((e) => e.time));
  await waitFor('a new second', () => Date.now() / 1000 >= lastJobEvent + 1);
  const since = await docker(['events', '--since', '10m', '--until', '0s', '--filter', 'container=apitest-job-1', '--format', '{{.Action}}']);
  t.same(since.stdout.trim().split('\n'), ['create', 'start', 'die']);

  const follower = spawn(DOCKER_BIN as string, ['events', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{index .Actor.Attributes "com.docker.compose.project"}}'], {
    env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` },
  });
  t.teardown(() => follower.kill());
  let streamed = '';
  follower.stdout.on('data', (d) => (streamed += d));
  await new Promise((r) => setTimeout(r, 500));
  await engine.restart('apitest', 'job');
  await waitFor('docker events shows the restart', () => /restart apitest-job-1 apitest/.test(streamed));
  t.match(streamed, /start apitest-job-1 apitest\n/);

  const follow = spawn(DOCKER_BIN as string, ['logs', '-f', '--tail', '0', 'apitest-web-2'], { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` } });
  t.teardown(() => follow.kill());
  let followed = '';
  follow.stdout.on('data', (d) => (followed += d));
  const followExit = new Promise((r) => follow.once('exit', r));
  await new Promise((r) => setTimeout(r, 500));
  await engine.scale('apitest', 'web', 1);
  t.equal(await followExit, 0, 'docker logs -f ends when the replica is removed');
  t.equal(followed, 'apitest-web-2 stopping\n', 'and showed the lines written meanwhile');
});

t.test('API errors are JSON with a message; versioned paths work', async (t) => {
  const d = new Docker({ socketPath, version: 'v1.41' });
  t.equal((await d.version()).ApiVersion, '1.45');
  await t.rejects(d.listContainers({ filters: '{not json' as unknown as Record<string, string[]> }), { message: /HTTP code 400/, statusCode: 400 });
  await t.rejects(d.listContainers({ filters: { bogus: ['x'] } }), { statusCode: 400, message: /invalid filter 'bogus'/ });
});

t.test('a second project with the same name is refused through the API', async (t) => {
  const other = path.join(dir, 'other.yml');
  writeFileSync(other, 'name: apitest\nservices:\n  x: {command: "sleep 5"}\n');
  const d = new Docker({ socketPath });
  const res = await new Promise<{ status: number; body: string }>((resolve) => {
    d.modem.dial({ path: '/portier/up', method: 'POST', options: { file: other }, statusCodes: { 201: true, 409: 'conflict' } }, (err: unknown, body: unknown) => {
      resolve(err ? { status: (err as { statusCode: number }).statusCode, body: JSON.stringify((err as { json: unknown }).json) } : { status: 201, body: JSON.stringify(body) });
    });
  });
  t.equal(res.status, 409);
  t.match(res.body, /project \\"apitest\\" is already up/);
});

function skipDocker(): string | false {
  if (DOCKER_BIN) return false;
  if (process.env.CI === 'true') throw new Error('docker CLI missing under CI: run test/setup/install.sh');
  console.error('\n!!! SKIPPING docker CLI tests: no docker binary (run test/setup/install.sh) !!!\n');
  return 'docker CLI not installed';
}
