import t from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dockerCli, engineOrSkip, ensureTestImage, freePort, removeContainers, waitFor } from '../helpers/docker-engine';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const BASE = 'portier-test/node-base:2';
const IMAGE = 'portier-test/portier:test';
// Building the image (npm ci from the registry, tsc) takes minutes on a loaded machine.
t.setTimeout(900_000);

/**
 * A base image in place of node:24-slim, as there is no registry: this
 * machine's node and npm (and the extra CAs it trusts), the libraries node
 * links (ldd) and glibc's resolver modules, static busybox for the shell,
 * and a `node` user (1000).
 */
async function ensureBaseImage(): Promise<void> {
  if ((await dockerCli(['images', '-q', BASE])) !== '') return;
  const dir = mkdtempSync(path.join(tmpdir(), 'portier-node-base-'));
  try {
    const root = path.join(dir, 'rootfs');
    const put = (from: string, to = from): void => {
      mkdirSync(path.dirname(path.join(root, to)), { recursive: true });
      copyFileSync(from, path.join(root, to));
      chmodSync(path.join(root, to), statSync(from).mode & 0o777);
    };
    const node = process.execPath;
    put(node, '/usr/local/bin/node');
    const { stdout } = await run('ldd', [node]);
    const libs = [...stdout.matchAll(/(\/\S+\.so[^\s]*)/g)].map((m) => m[1]);
    const resolver = ['libnss_dns.so.2', 'libnss_files.so.2', 'libresolv.so.2'].map((l) => `/lib/x86_64-linux-gnu/${l}`);
    for (const lib of [...libs, ...resolver]) put(lib);
    put('/bin/busybox', '/bin/busybox');
    for (const tool of ['sh', 'ln', 'mkdir', 'chown', 'chmod', 'cp', 'rm', 'mv', 'cat', 'ls', 'sleep', 'wget']) symlinkSync('busybox', path.join(root, 'bin', tool));
    mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
    symlinkSync('/bin/busybox', path.join(root, 'usr/bin/env'));
    cpSync('/usr/lib/node_modules/npm', path.join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'usr/local/bin/npm'));
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
    for (const d of ['root', 'home/node', 'tmp']) mkdirSync(path.join(root, d), { recursive: true });
    chmodSync(path.join(root, 'tmp'), 0o1777);
    // The machine's node trusts extra CAs (a proxy in front of the registry): so does the base, or `npm ci` could not fetch.
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    if (extraCa) put(extraCa, '/etc/ssl/certs/portier-extra-ca.pem');
    await run('chown', ['-R', '1000:1000', path.join(root, 'home/node')]);
    await run('tar', ['-C', root, '--numeric-owner', '-cf', path.join(dir, 'base.tar'), '.']);
    const env = ['--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', ...(extraCa ? ['--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/portier-extra-ca.pem'] : [])];
    await dockerCli(['import', ...env, path.join(dir, 'base.tar'), BASE], { timeoutMs: 180_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function curl(port: number, host: string, urlPath = '/'): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '--max-time', '20', '-H', `Host: ${host}`, '-o', '-', '-w', '\n%{http_code}', `http://127.0.0.1:${port}${urlPath}`], { timeout: 30_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '\n0' }));
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

t.test('the image: built FROM a local base, run with the Docker socket, routes a labelled container, stops within its grace', async (t) => {
  const engine = await engineOrSkip(t);
  if (!engine) return;
  t.teardown(() => engine.stop());
  await ensureTestImage(engine.docker);
  await ensureBaseImage();
  const names = ['portier-image-gw', 'portier-image-app'];
  await removeContainers(names);
  t.teardown(async () => {
    await removeContainers(names);
    await dockerCli(['rmi', '-f', IMAGE]).catch(() => undefined);
  });

  // No BuildKit on this machine (no buildx): the classic builder, on the host network so that `npm ci` reaches the registry.
  const build = await run('docker', ['-H', `unix://${engine.socket}`, 'build', '--network', 'host', '--build-arg', `BASE_IMAGE=${BASE}`, '-t', IMAGE, ROOT], {
    timeout: 600_000, maxBuffer: 64 << 20, env: { ...process.env, DOCKER_BUILDKIT: '0' },
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => ({ stdout: `${err.stdout ?? ''}\n${err.stderr ?? ''}\n${err.message}`, failed: true }));
  t.notOk('failed' in build, `docker build: ${'failed' in build ? build.stdout.slice(-3000) : 'ok'}`);
  if ('failed' in build) return;
  const inspect = JSON.parse(await dockerCli(['image', 'inspect', IMAGE]))[0];
  t.same(inspect.Config.Entrypoint, ['portier'], 'ENTRYPOINT ["portier"]');
  t.equal(inspect.Config.User, '1000:1000', 'a non-root user');
  t.match(inspect.Config.Healthcheck.Test.join(' '), /\/ping/, 'HEALTHCHECK on /ping');
  const modules = await dockerCli(['run', '--rm', '--entrypoint', 'ls', IMAGE, '/app/node_modules']);
  t.notMatch(modules, /typescript|\btap\b|playwright-core/, 'production dependencies only');
  t.match(modules, /dockerode/);

  const [web, api, app] = [await freePort(), await freePort(), await freePort()];
  // A CGI that answers after 3 s: in flight when `docker stop` comes.
  const cgi = String.raw`printf '#!/bin/sh\nsleep 3\nprintf "Content-Type: text/plain\\r\\n\\r\\nslow done\\n"\n' > /tmp/w/cgi-bin/slow`;
  const script = `mkdir -p /tmp/w/cgi-bin && echo routed > /tmp/w/index.html && ${cgi} && chmod +x /tmp/w/cgi-bin/slow && exec httpd -f -p 127.0.0.1:${app} -h /tmp/w`;
  await dockerCli(['run', '-d', '--network', 'host', '--name', names[1], '--label', 'portier.enable=true', '--label', 'portier.http.routers.app.rule=Host(`app.localhost`)', '--label', `portier.http.services.app.loadbalancer.server.port=${app}`, 'portier-test/bb:1', 'sh', '-c', script]);
  const socketGid = statSync(engine.socket).gid;
  await dockerCli([
    'run', '-d', '--network', 'host', '--name', names[0], '-v', `${engine.socket}:/var/run/docker.sock:ro`, '--group-add', String(socketGid),
    '-e', `HEALTHCHECK_URL=http://127.0.0.1:${api}/ping`, IMAGE,
    '--providers.docker.exposedByDefault=false', `--entryPoints.web.address=127.0.0.1:${web}`, `--entryPoints.traefik.address=127.0.0.1:${api}`, '--ping.entryPoint=traefik',
  ]);
  const logs = async (): Promise<string> => {
    const state = await dockerCli(['inspect', '--format', '{{json .State}}', names[0]]).catch((e: Error) => e.message);
    const { stdout, stderr } = await run('docker', ['-H', `unix://${engine.socket}`, 'logs', names[0]]).catch((e: Error) => ({ stdout: '', stderr: e.message }));
    return `${state}\n${stdout}${stderr}`;
  };
  await waitFor(async () => (await curl(web, 'app.localhost')).body === 'routed\n', 60_000, 'the labelled container to be routed').catch(() => undefined);
  const routed = await curl(web, 'app.localhost');
  t.same(routed, { status: 200, body: 'routed\n' }, 'the labelled container is routed');
  if (routed.status !== 200) t.comment(await logs());
  const pid = JSON.parse(await dockerCli(['inspect', names[0]]))[0].State.Pid as number;
  t.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, 'Portier runs as uid 1000');
  await waitFor(async () => JSON.parse(await dockerCli(['inspect', names[0]]))[0].State.Health?.Status === 'healthy', 90_000, 'healthy').catch(() => undefined);
  t.equal(JSON.parse(await dockerCli(['inspect', names[0]]))[0].State.Health?.Status, 'healthy', 'the health check passes');

  const inFlight = curl(web, 'app.localhost', '/cgi-bin/slow');
  await new Promise((r) => setTimeout(r, 1000));
  const started = Date.now();
  await dockerCli(['stop', '-t', '20', names[0]], { timeoutMs: 60_000 });
  const took = Date.now() - started;
  t.same(await inFlight, { status: 200, body: 'slow done\n' }, 'the request in flight when docker stop came finishes');
  const state = JSON.parse(await dockerCli(['inspect', names[0]]))[0].State;
  t.equal(state.ExitCode, 0, 'exits 0 on SIGTERM');
  if (state.ExitCode !== 0) t.comment(await logs());
  t.ok(took < 15_000, `stopped within its grace (${took} ms), not killed`);
});

t.test('examples/container/docker-compose.yml is a valid compose file', async (t) => {
  const dir = path.join(ROOT, 'examples/container');
  const { stdout } = await run('docker-compose', ['config'], { cwd: dir, env: { ...process.env, DOCKER_GID: '999' }, timeout: 60_000 });
  t.match(stdout, /image: portier/);
  t.match(stdout, /\/var\/run\/docker\.sock:\/var\/run\/docker\.sock:ro/);
});
