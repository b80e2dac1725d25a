import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DockerProvider } from '../../providers/docker/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Provider } from '../../src/provider';
import { dockerCli, engineOrSkip, ensureTestImage, freePort, removeContainers, runBackend, SOCKET, waitFor } from '../helpers/docker-engine';
import { startTestGateway } from '../helpers/gateway';

/**
 * The docker provider against a real engine, through the real gateway:
 * compose projects routed by name, replicas balanced, stop/start and health
 * gating, a broken label isolated, and a daemon restart under the provider.
 */
const run = promisify(execFile);
t.setTimeout(600_000);

function get(base: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/`, { headers: { host }, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

const servers = (s: ProviderSnapshot | undefined, service: string): string[] =>
  (s?.config.http?.services?.[service]?.loadBalancer?.servers ?? []).map((x) => x.url).sort();

t.test('docker provider on a real engine', async (t) => {
  const engine = await engineOrSkip(t);
  if (!engine) return;
  t.teardown(() => engine.stop());
  await ensureTestImage(engine.docker);

  const created: string[] = [];
  const projects: string[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-compose-'));
  t.teardown(async () => {
    for (const p of projects) {
      const env = { ...process.env, DOCKER_HOST: `unix://${SOCKET}`, SITE: p, WEB_PORT: '1' };
      await run('docker-compose', ['-p', p, '-f', path.join(dir, 'docker-compose.yml'), 'down', '-t', '0'], { env }).catch(() => undefined);
      const left = await dockerCli(['ps', '-aq', '--filter', `label=com.docker.compose.project=${p}`]).catch(() => '');
      await removeContainers(left.split('\n').filter((id) => id !== ''));
    }
    await removeContainers(created);
    rmSync(dir, { recursive: true, force: true });
  });

  let latest: ProviderSnapshot | undefined;
  let pushes = 0;
  const inner = DockerProvider.fromConfig({ endpoint: `unix://${SOCKET}`, throttle: '50ms' });
  const observed: Provider = {
    name: 'docker',
    start: (push, log) => inner.start((s) => {
      latest = s;
      pushes++;
      push(s);
    }, log),
    close: () => inner.close(),
  };
  const gw = await startTestGateway({}, { providers: [observed] });
  t.teardown(() => gw.close());
  const until = (what: string, check: () => boolean, ms = 20_000) => waitFor(check, ms, what, 20);
  /** Polls the gateway until a request for `host` gets `status` (the gateway applies snapshots asynchronously). */
  const served = (host: string, status = 200) => waitFor(async () => (await get(gw.url, host)).status === status, 20_000, `${host} to answer ${status}`, 50);
  const backend = async (spec: Parameters<typeof runBackend>[0]) => {
    created.push(spec.name);
    await runBackend(spec);
  };

  await t.test('two compose projects with the same layout, routed by name', async (t) => {
    writeFileSync(path.join(dir, 'docker-compose.yml'), [
      'version: "2.4"',
      'services:',
      '  web:',
      `    image: portier-test/bb:1`,
      '    network_mode: host',
      '    expose: ["${WEB_PORT}"]',
      '    command: ["sh", "-c", "mkdir -p /tmp/w && echo $$SITE > /tmp/w/index.html && exec httpd -f -p 127.0.0.1:$$PORT -h /tmp/w"]',
      '    environment: { SITE: "${SITE}", PORT: "${WEB_PORT}" }',
      '',
    ].join('\n'));
    for (const site of ['shop', 'blog']) {
      projects.push(site);
      const port = await freePort();
      await run('docker-compose', ['-p', site, '-f', path.join(dir, 'docker-compose.yml'), 'up', '-d'], {
        env: { ...process.env, DOCKER_HOST: `unix://${SOCKET}`, SITE: site, WEB_PORT: String(port) },
        timeout: 120_000,
      });
    }
    await until('both projects routed', () => servers(latest, 'web-shop').length === 1 && servers(latest, 'web-blog').length === 1);
    t.same(latest?.config.http?.routers?.['web-shop'], { rule: 'Host(`web.shop.localhost`)', service: 'web-shop' });
    const cases = [
      { host: 'web.shop.localhost', body: 'shop' },
      { host: 'web.blog.localhost', body: 'blog' },
    ];
    for (const c of cases) await served(c.host);
    for (const c of cases) t.match(await get(gw.url, c.host), { status: 200, body: c.body }, c.host);
  });

  await t.test('two projects with one copied service label: each host served only by its own containers', async (t) => {
    // Host networking gives each container its own port, so the copied label differs only in its value here.
    const label = (project: string, n: number, port: number) => ({
      'com.docker.compose.project': project, 'com.docker.compose.service': 'web', 'com.docker.compose.container-number': String(n),
      'traefik.http.services.web.loadbalancer.server.port': String(port),
    });
    const own = new Map<string, string[]>();
    for (const project of ['north', 'south']) {
      for (const n of [1, 2]) {
        const port = await freePort();
        await backend({ name: `portier-t-${project}-${n}`, port, body: `${project}-${n}`, labels: label(project, n, port) });
        own.set(project, [...(own.get(project) ?? []), `${project}-${n}`]);
      }
    }
    await until('both projects scoped', () => servers(latest, 'web-north').length === 2 && servers(latest, 'web-south').length === 2);
    t.notOk(latest?.config.http?.services?.web, 'no shared service web');
    t.same(latest?.config.http?.routers?.['web-north'], { rule: 'Host(`web.north.localhost`)', service: 'web-north' });
    for (const [project, bodies] of own) {
      const host = `web.${project}.localhost`;
      await served(host);
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add((await get(gw.url, host)).body);
      t.same([...seen].sort(), bodies, `${host}: both of its containers answered, no other`);
    }
  });

  await t.test('three replicas become one service with three servers, balanced', async (t) => {
    const compose = (n: number) => ({ 'com.docker.compose.project': 'rep', 'com.docker.compose.service': 'api', 'com.docker.compose.container-number': String(n) });
    for (const n of [1, 2, 3]) {
      const port = await freePort();
      await backend({ name: `portier-t-api-${n}`, port, body: `api-${n}`, labels: compose(n), flags: ['--expose', String(port)] });
    }
    await until('three servers', () => servers(latest, 'api-rep').length === 3);
    t.equal(Object.keys(latest?.config.http?.routers ?? {}).filter((r) => r === 'api-rep').length, 1, 'one router');
    const seen = new Set<string>();
    await waitFor(async () => {
      const r = await get(gw.url, 'api.rep.localhost');
      if (r.status === 200) seen.add(r.body);
      return seen.size === 3;
    }, 20_000, 'every replica to answer', 10);
    t.same([...seen].sort(), ['api-1', 'api-2', 'api-3'], 'every replica answered');
  });

  await t.test('stop removes a route within 1 s; start brings it back once healthy', async (t) => {
    const port = await freePort();
    await backend({
      name: 'portier-t-hc', port, body: 'hc',
      flags: ['--expose', String(port), '--health-cmd', `test -f /tmp/ready && wget -q -O /dev/null http://127.0.0.1:${port}/`, '--health-interval', '1s', '--health-retries', '1'],
    });
    await until('service exists without servers while starting', () => latest?.config.http?.services?.['portier-t-hc'] !== undefined);
    t.same(servers(latest, 'portier-t-hc'), [], 'no server before healthy');
    await served('portier-t-hc.localhost', 503);
    t.pass('not healthy yet: 503, not 404');
    await dockerCli(['exec', 'portier-t-hc', 'sh', '-c', 'echo > /tmp/ready']);
    await until('server once healthy', () => servers(latest, 'portier-t-hc').length === 1, 30_000);
    await served('portier-t-hc.localhost');
    t.match(await get(gw.url, 'portier-t-hc.localhost'), { status: 200, body: 'hc' });

    const stopAt = Date.now();
    await dockerCli(['kill', 'portier-t-hc']);
    await until('server gone', () => servers(latest, 'portier-t-hc').length === 0, 5_000);
    const gone = Date.now() - stopAt;
    t.ok(gone < 1000, `route gone ${gone} ms after the container stopped`);

    await dockerCli(['start', 'portier-t-hc']);
    await until('server back', () => servers(latest, 'portier-t-hc').length === 1, 30_000);
    const health = await dockerCli(['inspect', '-f', '{{.State.Health.Status}}', 'portier-t-hc']);
    t.equal(health, 'healthy', 'back only once healthy');
  });

  await t.test('a broken label errors only its router', async (t) => {
    const port = await freePort();
    await backend({
      name: 'portier-t-broken', port, flags: ['--expose', String(port)],
      labels: {
        'traefik.http.routers.bad.rulez': 'Host(`bad.localhost`)',
        'traefik.http.routers.syntax.rule': 'Host(`syntax.localhost`',
        'traefik.http.routers.good.rule': 'Host(`good.localhost`)',
      },
    });
    await until('routers present', () => latest?.config.http?.routers?.good !== undefined && gw.router('good@docker') !== undefined);
    t.match(latest?.errors, { 'routers.bad': [/label traefik\.http\.routers\.bad\.rulez: unknown key \(did you mean rule\?\)/] });
    await until('gateway compiled them', () => gw.router('bad@docker') !== undefined && gw.router('syntax@docker') !== undefined);
    t.not(gw.router('bad@docker')?.status, 'enabled', 'label error disables the router');
    t.not(gw.router('syntax@docker')?.status, 'enabled', 'rule syntax error disables the router');
    t.equal(gw.router('good@docker')?.status, 'enabled');
    await served('good.localhost');
    t.match(await get(gw.url, 'good.localhost'), { status: 200, body: 'portier-t-broken' });
    t.match(await get(gw.url, 'web.shop.localhost'), { status: 200, body: 'shop' }, 'other containers unaffected');
  });

  await t.test('dockerd restarted under the provider: converges again within 5 s', async (t) => {
    const port = await freePort();
    await backend({ name: 'portier-t-always', port, body: 'always', flags: ['--expose', String(port), '--restart', 'always'] });
    await until('routed', () => servers(latest, 'portier-t-always').length === 1);
    await engine.restart();
    const upAt = Date.now();
    await until('converged after restart', () => {
      const s = latest;
      return servers(s, 'portier-t-always').length === 1 && servers(s, 'api-rep').length === 0 && s?.config.http?.services?.['portier-t-hc'] === undefined;
    }, 15_000);
    const took = Date.now() - upAt;
    t.ok(took < 5000, `snapshot converged ${took} ms after the engine answered again`);
    const before = pushes;
    const port2 = await freePort();
    await backend({ name: 'portier-t-after', port: port2, flags: ['--expose', String(port2)] });
    await until('still following events', () => servers(latest, 'portier-t-after').length === 1);
    t.ok(pushes > before, 'new snapshots after the restart');
    await served('portier-t-always.localhost');
    t.match(await get(gw.url, 'portier-t-always.localhost'), { status: 200, body: 'always' });
  });
});
