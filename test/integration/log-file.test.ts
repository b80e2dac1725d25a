import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CLI = join(resolve(__dirname, '../..'), 'dist/src/cli.js');

const dynamic = (host: string): string => `http:
  routers:
    app:
      rule: Host(\`${host}\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:1
`;

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

t.test('log.filePath: the process log goes to the file, not stderr, and SIGUSR1 reopens it after a rename', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portier-log-'));
  const log = join(dir, 'portier.log');
  writeFileSync(join(dir, 'dynamic.yaml'), dynamic('one.localhost'));
  // A relative filePath: it resolves against the config file's folder, not the process's cwd.
  writeFileSync(
    join(dir, 'portier.yaml'),
    `entryPoints:
  web:
    address: 127.0.0.1:0
providers:
  file:
    filename: dynamic.yaml
log:
  level: info
  filePath: portier.log
`,
  );
  const child = spawn(process.execPath, [CLI, '--config', join(dir, 'portier.yaml')], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));

  await until('startup', () => /Portier is (serving|running)/.test(stdout));
  t.match(read(log), /INFO  file configuration applied provider=file files=1/, 'the startup lines are in the file');
  t.equal(stderr, '', 'nothing on stderr');
  t.equal(statSync(log).mode & 0o027, 0, 'created 0640: no group write, nothing for others');

  renameSync(log, `${log}.1`);
  child.kill('SIGUSR1');
  await until('a new file after SIGUSR1', () => /log file: reopened on SIGUSR1/.test(read(log)));
  writeFileSync(join(dir, 'dynamic.yaml'), dynamic('two.localhost'));
  await until('the next lines in the new file', () => /file configuration applied/.test(read(log)));
  t.notMatch(read(`${log}.1`), /reopened|applied[^]*applied/, 'the moved file gets nothing more');
  t.equal(stderr, '', 'still nothing on stderr');

  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 on SIGTERM');
  t.match(read(log), /stopping: finishing in-flight requests signal=SIGTERM/, 'the shutdown line too');
});

t.test('log.filePath that cannot be opened stops the start with the key named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portier-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'portier.yaml'), `entryPoints:\n  web:\n    address: 127.0.0.1:0\nproviders:\n  file:\n    directory: .\nlog:\n  filePath: missing/portier.log\n`);
  const child = spawn(process.execPath, [CLI, '--config', join(dir, 'portier.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.equal(code, 1);
  t.match(stderr, /^portier: log\.filePath: cannot open .*missing\/portier\.log: ENOENT/);
});
