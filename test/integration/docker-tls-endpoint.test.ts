import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DockerProvider } from '../../providers/docker/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import { createLogger } from '../../src/log/logger';
import { engineOrSkip, ensureTestImage, freePort, removeContainers, runBackend, SOCKET, waitFor } from '../helpers/docker-engine';

/**
 * tcp+TLS endpoints as users configure them: DOCKER_HOST with
 * DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, or explicit `tls.*` paths. The engine
 * sits behind HAProxy terminating TLS and requiring a client certificate
 * signed by a test CA (made with openssl); a provider without the client
 * certificate is refused.
 */
t.setTimeout(600_000);
const run = promisify(execFile);

async function makeCerts(dir: string): Promise<void> {
  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=portier test CA');
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, ext] of [['server', 'server.ext'], ['client', 'client.ext']]) {
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext);
  }
  await run('sh', ['-c', 'cat server.pem server-key.pem > haproxy.pem && cp client.pem cert.pem && cp client-key.pem key.pem'], { cwd: dir });
}

t.test('docker provider over tcp+TLS with client certificates', async (t) => {
  for (const bin of ['haproxy', 'openssl']) {
    const ok = await run('sh', ['-c', `command -v ${bin}`]).then(() => true, () => false);
    if (ok) continue;
    if (process.env.CI === 'true') throw new Error(`${bin} is not installed (test/setup/install.sh installs it)`);
    process.stderr.write(`\n!!!!! SKIPPING docker TLS endpoint test: ${bin} is not installed !!!!!\n\n`);
    t.plan(0, `${bin} is not installed`);
    return;
  }
  const engine = await engineOrSkip(t);
  if (!engine) return;
  t.teardown(() => engine.stop());
  await ensureTestImage(engine.docker);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-dockertls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await makeCerts(dir);
  const port = await freePort();
  writeFileSync(path.join(dir, 'haproxy.cfg'), [
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend docker_tls',
    `  bind 127.0.0.1:${port} ssl crt ${path.join(dir, 'haproxy.pem')} ca-file ${path.join(dir, 'ca.pem')} verify required`,
    '  default_backend docker',
    'backend docker',
    `  server engine unix@${SOCKET}`,
    '',
  ].join('\n'));
  const proxy = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
  t.teardown(() => {
    proxy.kill('SIGTERM');
  });

  await waitFor(() => canConnect(port), 20_000, 'haproxy to listen');

  const backendPort = await freePort();
  t.teardown(() => removeContainers(['portier-t-tls']));
  await runBackend({ name: 'portier-t-tls', port: backendPort, flags: ['--expose', String(backendPort)] });
  const want = [`http://127.0.0.1:${backendPort}`];

  const cases = [
    { name: 'DOCKER_HOST + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH', raw: {}, env: { DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir }, served: true },
    { name: 'explicit tls paths', raw: { endpoint: `tcp://127.0.0.1:${port}`, tls: { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') } }, env: {}, served: true },
    { name: 'no client certificate: refused, reported, no crash', raw: { endpoint: `tcp://127.0.0.1:${port}`, tls: { ca: path.join(dir, 'ca.pem') } }, env: {}, served: false },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      let latest: ProviderSnapshot | undefined;
      const lines: string[] = [];
      const provider = DockerProvider.fromConfig({ ...c.raw, throttle: '50ms' }, 'providers.docker', c.env);
      t.teardown(() => provider.close());
      const servers = () => (latest?.config.http?.services?.['portier-t-tls']?.loadBalancer?.servers ?? []).map((s) => s.url);
      await provider.start((s) => (latest = s), createLogger({ write: (l) => lines.push(l) }));
      if (c.served) {
        await waitFor(() => servers().length === 1, 20_000, 'container discovered over TLS', 20);
        t.same(servers(), want);
      } else {
        t.equal(latest, undefined, 'no snapshot');
        t.match(lines.join('\n'), /WARN .*docker: no engine reachable/, 'one clear line');
      }
    });
  }
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}
