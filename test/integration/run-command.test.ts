import t, { type Test } from 'tap';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI } from '../helpers/cli-process';
import { startPortierFromFiles } from '../helpers/portier';

const exec = promisify(execFile);

/** A project folder: package.json named `@acme/My_App`, and a server on $PORT that exits 3 on SIGINT and 7 on GET /exit. */
function project(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'portier-run-project-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@acme/My_App' }));
  writeFileSync(
    path.join(dir, 'server.js'),
    `const http = require('node:http');
const port = Number(process.env.APP_PORT ?? process.env.PORT);
const server = http.createServer((req, res) => {
  res.end('hello from ' + port + '\\n');
  if (req.url === '/exit') setTimeout(() => process.exit(7), 50);
});
server.listen(port, '127.0.0.1', () => console.log('server listening on ' + port + ' pid ' + process.pid));
process.on('SIGINT', () => { console.log('server got SIGINT'); process.exit(3); });
`,
  );
  return dir;
}

interface Run {
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray | undefined>;
  exited: Promise<number | null>;
  pid: number;
}

function portierRun(t: Test, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, [CLI, 'run', ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // A portier run killed outright leaves its command behind, as a shell would: the servers say their pid.
    for (const [, pid] of out.matchAll(/server listening on \d+ pid (\d+)/g)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return {
    output: () => out,
    pid: child.pid!,
    exited,
    async waitFor(re, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && child.exitCode === null) {
        const m = re.exec(out);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      return re.exec(out) ?? undefined;
    },
  };
}

/** curl to 127.0.0.1:port with the given Host, over HTTPS too (--resolve, the local CA not trusted: -k). */
async function curl(url: string, port: number): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const args = ['-sk', '--max-time', '10', '--resolve', `${u.hostname}:${port}:127.0.0.1`, '-o', '-', '-w', '\n%{http_code}', `${u.protocol}//${u.hostname}:${port}${u.pathname}`];
  const { stdout } = await exec('curl', args, { timeout: 20_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '\n0' }));
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

async function until(what: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

t.test('examples/run on its own: a Portier for the run, HTTP and HTTPS, Ctrl-C reaches the command, its exit code is kept', async (t) => {
  t.ok(existsSync(CLI), 'the CLI is built');
  const socketDir = mkdtempSync(path.join(tmpdir(), 'portier-run-socket-'));
  t.teardown(() => rmSync(socketDir, { recursive: true, force: true }));
  const cwd = path.resolve(__dirname, '../../examples/run');
  const flags = ['--entryPoints.web.address=127.0.0.1:0', '--entryPoints.websecure.address=127.0.0.1:0'];
  const run = portierRun(t, cwd, [...flags, '--', 'node', 'server.js'], { PORTIER_ENGINE_SOCKET: path.join(socketDir, 'engine.sock') });
  const m = await run.waitFor(/portier run: http:\/\/hello-run\.localhost:(\d+)\/ and https:\/\/hello-run\.localhost:(\d+)\/ → 127\.0\.0\.1:(\d+) \(PORT=\d+\), through a Portier started for this run/);
  t.ok(m, `announces its URLs: ${run.output()}`);
  if (!m) return;
  const [, web, websecure, app] = m.map(Number);
  t.ok(await run.waitFor(/hello-run listening on/), 'the command output is streamed');
  for (const [url, port] of [[`http://hello-run.localhost/`, web], [`https://hello-run.localhost/`, websecure]] as const) {
    const r = await curl(url, port);
    t.same(r, { status: 200, body: `hello-run on port ${app}: GET / for hello-run.localhost:${port}\n` }, `${url} reaches the command`);
  }
  process.kill(run.pid, 'SIGINT');
  t.equal(await run.exited, 130, "the command's exit code");
  t.match(run.output(), /hello-run: SIGINT, stopping/, 'SIGINT was passed on');
  t.equal((await curl(`http://hello-run.localhost/`, web)).status, 0, 'the Portier of the run is gone with it');
});

t.test('through a running Portier: routed while the command runs, gone after it exits or when portier run is killed', async (t) => {
  const cwd = project(t);
  const socket = path.join(cwd, 'engine.sock');
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': `entryPoints:\n  web:\n    address: "127.0.0.1:0"\nproviders:\n  providersThrottleDuration: 10ms\n  runtime:\n    socket: ${JSON.stringify(socket)}\n`,
  });
  const web = portier.gateway.port('web');
  const cases = [
    { name: 'the command exits by itself', args: ['--name', 'api.shop', '--port-env', 'APP_PORT'], host: 'api.shop.localhost', env: 'APP_PORT', stop: 'request', code: 7, after: 404 },
    { name: 'portier run is killed outright', args: [], host: 'my-app.localhost', env: 'PORT', stop: 'SIGKILL', code: null, after: 503 },
  ];
  for (const c of cases) {
    const run = portierRun(t, cwd, ['--engine-socket', socket, ...c.args, '--', 'node', 'server.js']);
    const m = await run.waitFor(new RegExp(`portier run: http://${c.host.replace(/\./g, '\\.')}/ and https://${c.host.replace(/\./g, '\\.')}/ → 127\\.0\\.0\\.1:(\\d+) \\(${c.env}=\\d+\\), through the Portier at ${socket.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    t.ok(m, `${c.name}: announced: ${run.output()}`);
    if (!m) continue;
    t.ok(await until(async () => (await curl(`http://${c.host}/`, web)).body === `hello from ${m[1]}\n`), `${c.name}: routed by the running Portier`);
    t.ok(await run.waitFor(/server listening on \d+ pid \d+/), `${c.name}: the command started`);
    if (c.stop === 'request') await curl(`http://${c.host}/exit`, web);
    else process.kill(run.pid, 'SIGKILL');
    t.equal(await run.exited, c.code, `${c.name}: exit code`);
    // Killed outright, portier run cannot take its route down: its stand-in ends within a second, which leaves no server.
    t.ok(await until(async () => (await curl(`http://${c.host}/`, web)).status === c.after), `${c.name}: no longer served (${c.after})`);
  }
});

t.test('bad invocations say what is wrong', async (t) => {
  const cwd = project(t);
  const cases = [
    { args: [], error: /no command to run\nusage: portier run/ },
    { args: ['--name', 'Bad Name!', '--', 'true'], error: /--name: expected a host name/ },
    { args: ['--port-env', '1X', '--', 'true'], error: /--port-env: expected an environment variable name/ },
  ];
  for (const c of cases) {
    const run = portierRun(t, cwd, c.args);
    t.equal(await run.exited, 1, `${c.args.join(' ')}: exit 1`);
    t.match(run.output(), c.error);
  }
});
