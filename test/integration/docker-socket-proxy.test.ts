import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerProvider } from '../../providers/docker/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import { createLogger } from '../../src/log/logger';
import { engineOrSkip, ensureTestImage, freePort, removeContainers, runBackend, SOCKET, waitFor, dockerCli } from '../helpers/docker-engine';

/**
 * Discovery through a GET-only socket proxy (HAProxy in front of the docker
 * socket, denying every other method): the provider lists, follows events,
 * and never attempts a write.
 */
t.setTimeout(600_000);

function request(port: number, method: string, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('docker provider behind a GET-only HAProxy socket proxy', async (t) => {
  if (!(await hasHaproxy())) {
    if (process.env.CI === 'true') throw new Error('haproxy is not installed (test/setup/install.sh installs it)');
    process.stderr.write('\n!!!!! SKIPPING socket proxy test: haproxy is not installed !!!!!\n\n');
    t.plan(0, 'haproxy is not installed');
    return;
  }
  const engine = await engineOrSkip(t);
  if (!engine) return;
  t.teardown(() => engine.stop());
  await ensureTestImage(engine.docker);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-haproxy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  writeFileSync(path.join(dir, 'haproxy.cfg'), [
    'global',
    '  log stdout format raw local0',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    // Log each request when its response starts: the event stream never ends by itself.
    '  option logasap',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend docker_ro',
    `  bind 127.0.0.1:${port}`,
    '  http-request deny deny_status 403 unless METH_GET',
    '  default_backend docker',
    'backend docker',
    `  server engine unix@${SOCKET}`,
    '',
  ].join('\n'));
  let log = '';
  const startProxy = async (): Promise<ReturnType<typeof spawn>> => {
    const proxy = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.stdout!.on('data', (c) => (log += c));
    proxy.stderr!.on('data', (c) => (log += c));
    t.teardown(() => {
      proxy.kill('SIGTERM');
    });
    await waitFor(async () => (await request(port, 'GET', '/_ping').catch(() => 0)) === 200, 20_000, 'haproxy to forward');
    return proxy;
  };

  const names: string[] = [];
  t.teardown(() => removeContainers(names));

  let latest: ProviderSnapshot | undefined;
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', write: (l) => lines.push(l) });
  const provider = DockerProvider.fromConfig({ endpoint: `tcp://127.0.0.1:${port}`, throttle: '50ms' });
  t.teardown(() => provider.close());
  const servers = () => (latest?.config.http?.services?.['portier-t-proxied']?.loadBalancer?.servers ?? []).map((s) => s.url);

  // The engine (here: its proxy) is absent when the provider starts.
  await provider.start((s) => (latest = s), logger);
  t.equal(latest, undefined, 'no snapshot without an engine');
  t.match(lines, [/WARN .*docker: no engine reachable; its routes appear when it starts/], 'one clear line');
  let proxy = await startProxy();
  await waitFor(() => latest !== undefined, 20_000, 'first snapshot once the engine answers', 20);
  t.match(lines.at(-1), /docker: engine reachable again/);

  const backendPort = await freePort();
  names.push('portier-t-proxied');
  await runBackend({ name: 'portier-t-proxied', port: backendPort, flags: ['--expose', String(backendPort)] });
  await waitFor(() => servers().length === 1, 20_000, 'container discovered through the proxy (events)', 20);
  t.same(servers(), [`http://127.0.0.1:${backendPort}`]);

  await dockerCli(['kill', 'portier-t-proxied']);
  await waitFor(() => servers().length === 0, 10_000, 'stop seen through the proxy', 20);
  t.pass('stop followed through the proxy');

  // The event stream dropped under the provider (proxy killed): it keeps the routes, reconnects and resyncs.
  const warnings = lines.filter((l) => l.includes('WARN')).length;
  proxy.kill('SIGKILL');
  await waitFor(() => lines.filter((l) => l.includes('WARN')).length === warnings + 1, 10_000, 'the drop to be logged', 20);
  await dockerCli(['start', 'portier-t-proxied']);
  proxy = await startProxy();
  await waitFor(() => servers().length === 1, 20_000, 'resync after the stream came back', 20);
  t.match(lines.filter((l) => l.includes('WARN')).at(-1), /lost the engine; keeping the last routes and reconnecting/);
  t.equal(lines.filter((l) => l.includes('WARN')).length, warnings + 1, 'one line per outage, not one per retry');

  t.equal(await request(port, 'POST', '/containers/portier-t-proxied/start'), 403, 'the proxy refuses writes');
  await waitFor(() => /POST \/containers/.test(log) && /GET [^ ]*\/events/.test(log), 10_000, 'haproxy to log the POST and the event stream');
  const requests = log.split('\n').filter((l) => /"[A-Z]+ \//.test(l));
  const methods = new Set(requests.filter((l) => !l.includes('/containers/portier-t-proxied/start')).map((l) => /"([A-Z]+) \//.exec(l)![1]));
  t.same([...methods], ['GET'], 'the provider only sent GET requests');
  t.ok(requests.some((l) => /GET [^ ]*\/events/.test(l)), 'it followed /events through the proxy');
});

async function hasHaproxy(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', 'command -v haproxy'], { stdio: 'ignore' });
    p.on('exit', (code) => resolve(code === 0));
    p.on('error', () => resolve(false));
  });
}
