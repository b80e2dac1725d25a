import t, { type Test } from 'tap';
import { Engine } from '../../src/engine/engine';
import type { DockerEvent } from '../../src/engine/events';
import { alive, get, helloApp, node, stackFile, waitFor } from './engine-fixtures';

const newEngine = (t: Test, opts: ConstructorParameters<typeof Engine>[0] = {}): Engine => {
  const engine = new Engine({ drainDelayMs: 50, ...opts });
  t.teardown(() => engine.close());
  return engine;
};

t.test('replicas get distinct ports and answer with their name; health gates readiness', async (t) => {
  const engine = newEngine(t);
  const events: DockerEvent[] = [];
  engine.on('event', (e: DockerEvent) => events.push(e));
  const file = stackFile(t, `
name: shop
services:
  web:
    command: ["${node}", "${helloApp}"]
    deploy: {replicas: 3}
    # A start period, as Docker's: a loaded machine may take more than three probes to start node.
    healthcheck: {test: ["HTTP", "/health"], interval: 200ms, timeout: 1s, start_period: 10s}
`);
  await engine.up(file);
  const replicas = engine.list();
  t.same(replicas.map((r) => r.name), ['shop-web-1', 'shop-web-2', 'shop-web-3']);
  t.equal(new Set(replicas.map((r) => r.port)).size, 3, 'three distinct ports');
  t.ok(replicas.every((r) => r.health?.status === 'starting' && !r.ready), 'starting and not ready before the first probe');
  await waitFor('all healthy', () => engine.list().every((r) => r.ready));
  for (const r of replicas) {
    t.match(r.id, /^[0-9a-f]{64}$/);
    t.equal(r.labels['com.docker.compose.project'], 'shop');
    t.equal(r.labels['com.docker.compose.container-number'], String(r.number));
    t.same(await get(r.port), { status: 200, body: `hello from ${r.name}\n` });
  }
  const healthy = events.filter((e) => e.Action === 'health_status: healthy').map((e) => e.Actor.Attributes.name).sort();
  t.same(healthy, ['shop-web-1', 'shop-web-2', 'shop-web-3'], 'a health_status event per replica');
  t.same(events.filter((e) => e.Actor.Attributes.name === 'shop-web-1').map((e) => e.Action), ['create', 'start', 'health_status: healthy']);
});

t.test('restart policies', async (t) => {
  const cases = [
    { restart: 'no', exit: 1, starts: 1, finalState: 'exited' },
    { restart: 'on-failure:2', exit: 1, starts: 3, finalState: 'exited' },
    { restart: 'on-failure', exit: 0, starts: 1, finalState: 'exited' },
    { restart: 'always', exit: 0, starts: 4, finalState: undefined },
    { restart: 'unless-stopped', exit: 3, starts: 4, finalState: undefined },
  ];
  const engine = newEngine(t, { backoff: { initialMs: 50 } });
  const file = stackFile(t, `
name: restarts
services:
${cases.map((c, i) => `  s${i}: {command: "exit ${c.exit}", restart: "${c.restart}"}`).join('\n')}
`);
  const starts = new Map<string, number>();
  engine.on('event', (e: DockerEvent) => {
    if (e.Action === 'start') starts.set(e.Actor.Attributes.name, (starts.get(e.Actor.Attributes.name) ?? 0) + 1);
  });
  await engine.up(file);
  for (const [i, c] of cases.entries()) {
    const name = `restarts-s${i}-1`;
    await waitFor(`${name} started ${c.starts} times`, () => (starts.get(name) ?? 0) >= c.starts && (c.finalState === undefined || engine.find(name)?.state === c.finalState));
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const [i, c] of cases.entries()) {
    const r = engine.find(`restarts-s${i}-1`)!;
    if (c.finalState) {
      t.equal(starts.get(r.name), c.starts, `${c.restart} exit ${c.exit}: started ${c.starts} times`);
      t.equal(r.state, 'exited');
      t.equal(r.exitCode, c.exit);
    } else t.ok((starts.get(r.name) ?? 0) >= c.starts, `${c.restart} keeps restarting`);
  }
});

t.test('a crash loop backs off exponentially', async (t) => {
  const engine = newEngine(t, { backoff: { initialMs: 100, maxMs: 400 } });
  const file = stackFile(t, 'name: crash\nservices:\n  loop: {command: "exit 1", restart: always}\n');
  const times: number[] = [];
  engine.on('event', (e: DockerEvent) => e.Action === 'start' && times.push(e.timeNano / 1e6));
  await engine.up(file);
  await waitFor('6 starts', () => times.length >= 6);
  const gaps = times.slice(1).map((x, i) => x - times[i]);
  const wanted = [100, 200, 400, 400, 400];
  wanted.forEach((min, i) => t.ok(gaps[i] >= min - 5, `gap ${i} is ${Math.round(gaps[i])} ms, at least ${min}`));
  t.ok(engine.find('crash-loop-1')!.restartCount >= 5, 'restart count grows');
});

t.test('a command that cannot start marks its replica exited; the others run', async (t) => {
  const engine = newEngine(t);
  const file = stackFile(t, `
name: broken
services:
  missing: {command: ["/nonexistent/bin/server"]}
  nodir: {command: "true", working_dir: ./nope}
  ok: {command: ["${node}", "${helloApp}"]}
`);
  await engine.up(file);
  const missing = engine.find('broken-missing-1')!;
  await waitFor('missing exited', () => missing.state === 'exited');
  t.equal(missing.exitCode, 127);
  t.match(missing.error, /cannot start \/nonexistent\/bin\/server: spawn \/nonexistent\/bin\/server ENOENT/);
  t.match(missing.logs.snapshot().map((l) => l.text).join('\n'), /portier: cannot start/);
  const nodir = engine.find('broken-nodir-1')!;
  t.equal(nodir.state, 'exited');
  t.match(nodir.error, /working_dir .*nope does not exist/);
  const ok = engine.find('broken-ok-1')!;
  t.equal(ok.state, 'running');
  await waitFor('ok answers', () => get(ok.port).then((r) => r.status === 200, () => false));
});

t.test('a second project with the same name is refused', async (t) => {
  const engine = newEngine(t);
  const a = stackFile(t, `name: dup\nservices:\n  web: {command: ["${node}", "${helloApp}"]}\n`);
  const b = stackFile(t, `name: dup\nservices:\n  other: {command: "sleep 30"}\n`);
  await engine.up(a);
  await t.rejects(engine.up(b), { code: 'ENGINE', status: 409, message: /project "dup" is already up \(from .*stack\.yml\)/ });
  t.same(engine.list().map((r) => r.name), ['dup-web-1'], 'the first project is untouched');
});

t.test('scale down takes replicas out of rotation before signalling them', async (t) => {
  const engine = newEngine(t, { drainDelayMs: 200 });
  const file = stackFile(t, `name: sc\nservices:\n  web: {command: ["${node}", "${helloApp}"], scale: 3}\n`);
  await engine.up(file);
  const third = engine.find('sc-web-3')!;
  let outAt = 0;
  let killAt = 0;
  engine.on('change', () => !outAt && !third.ready && (outAt = Date.now()));
  engine.on('event', (e: DockerEvent) => e.Action === 'kill' && e.Actor.Attributes.name === 'sc-web-3' && (killAt = Date.now()));
  await engine.scale('sc', 'web', 1);
  t.same(engine.list().map((r) => r.name), ['sc-web-1']);
  t.ok(outAt > 0 && killAt - outAt >= 190, `out of rotation ${killAt - outAt} ms before the kill`);
  await engine.scale('sc', 'web', 2);
  t.same(engine.list().map((r) => r.name), ['sc-web-1', 'sc-web-2'], 'scale up reuses the lowest free number');
});

t.test('close stops every replica and what it forked: no orphans', async (t) => {
  const engine = new Engine({ drainDelayMs: 10 });
  const file = stackFile(t, `
name: orphans
services:
  forks: {command: "sleep 300 & echo child=$!; wait", scale: 2}
  stubborn: {command: "trap '' TERM; echo ready; while true; do sleep 0.1; done", stop_grace_period: 300ms}
  crashing: {command: "exit 1", restart: always}
`);
  await engine.up(file);
  const children = await waitFor('forked pids', () => {
    const pids = engine.list().filter((r) => r.service === 'forks').map((r) => /child=(\d+)/.exec(r.logs.snapshot().map((l) => l.text).join('\n'))?.[1]);
    return pids.every(Boolean) ? pids.map(Number) : undefined;
  });
  await waitFor('stubborn ready', () => engine.find('orphans-stubborn-1')!.logs.snapshot().length > 0);
  const pids = [...children, ...engine.list().map((r) => r.pid).filter((p) => p > 0)];
  t.ok(pids.every(alive), 'all alive before close');
  await engine.close();
  t.same(pids.filter(alive), [], 'no process left');
  t.same(engine.list(), []);
});

t.test('health probe forms decide healthy or unhealthy', async (t) => {
  const cases = [
    { name: 'exec', test: '["CMD", "true"]', extra: '', health: 'healthy', output: /^$/ },
    { name: 'shellfail', test: '["CMD-SHELL", "echo broken; exit 1"]', extra: '', health: 'unhealthy', output: /broken/ },
    { name: 'string', test: '"test $$PORT -gt 0"', extra: '', health: 'healthy', output: /^$/ },
    { name: 'slow', test: '"sleep 5"', extra: 'timeout: 100ms', health: 'unhealthy', output: /exceeded timeout/ },
    { name: 'http', test: '["HTTP", "/health"]', extra: '', health: 'healthy', output: /GET \/health: HTTP 200/ },
    { name: 'nohttp', test: '["HTTP", "/health"]', extra: '', health: 'unhealthy', output: /ECONNREFUSED/, command: '"sleep 30"' },
  ];
  const engine = newEngine(t);
  const events: string[] = [];
  engine.on('event', (e: DockerEvent) => events.push(`${e.Actor.Attributes.name} ${e.Action}`));
  const file = stackFile(t, `
name: hc
services:
${cases.map((c) => `  ${c.name}:
    command: ${c.command ?? `["${node}", "${helloApp}"]`}
    healthcheck: {test: ${c.test}, interval: 50ms, retries: 2${c.extra ? `, ${c.extra}` : ''}}`).join('\n')}
`);
  await engine.up(file);
  for (const c of cases) {
    const r = engine.find(`hc-${c.name}-1`)!;
    await waitFor(`${c.name} ${c.health}`, () => r.health?.status === c.health);
    t.match(r.health!.log.at(-1)!.Output, c.output, `${c.name}: probe output`);
    t.equal(r.ready, c.health === 'healthy');
    t.ok(events.includes(`hc-${c.name}-1 health_status: ${c.health}`), `${c.name}: event`);
  }
  const failing = engine.find('hc-shellfail-1')!;
  t.ok(failing.health!.failingStreak >= 2 && failing.state === 'running', 'an unhealthy replica keeps running, as in Docker');
});

t.test('failures during start_period do not count', async (t) => {
  const engine = newEngine(t);
  const file = stackFile(t, 'name: sp\nservices:\n  web: {command: "sleep 30", healthcheck: {test: "exit 1", interval: 50ms, retries: 1, start_period: 3s}}\n');
  await engine.up(file);
  const r = engine.find('sp-web-1')!;
  await waitFor('a few probes', () => r.health!.log.length >= 3);
  t.ok(Date.now() - r.startedAt!.getTime() < 3000, 'still within the start period');
  t.equal(r.health!.status, 'starting');
  await waitFor('unhealthy after the start period', () => r.health!.status === 'unhealthy');
});

t.test('depends_on: service_healthy waits, a failed dependency fails up', async (t) => {
  const engine = newEngine(t);
  const events: string[] = [];
  engine.on('event', (e: DockerEvent) => events.push(`${e.Actor.Attributes.name} ${e.Action}`));
  const ok = stackFile(t, `
name: deps
services:
  front: {command: "sleep 30", depends_on: {back: {condition: service_healthy}}}
  back: {command: "sleep 30", scale: 2, healthcheck: {test: "sleep 0.2", interval: 50ms}}
`);
  await engine.up(ok);
  const frontCreated = events.indexOf('deps-front-1 create');
  t.ok(frontCreated > events.indexOf('deps-back-1 health_status: healthy') && frontCreated > events.indexOf('deps-back-2 health_status: healthy'), 'front created after both back replicas are healthy');

  const bad = stackFile(t, `
name: baddeps
services:
  front: {command: "sleep 30", depends_on: {back: {condition: service_healthy}}}
  back: {command: "exit 2", healthcheck: {test: "true", interval: 50ms}}
`);
  await t.rejects(engine.up(bad), { code: 'ENGINE', message: /services\.front\.depends_on: dependency baddeps-back-1 is exited \(2\)/ });
  t.same(engine.projects().map((p) => p.name), ['deps'], 'the failed project is brought down');
});
