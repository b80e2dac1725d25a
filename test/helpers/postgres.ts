import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort } from './pebble';

/**
 * A real PostgreSQL cluster (Debian's postgresql 15) for the TCP routing
 * tests: initdb in a temporary folder, `postgres` on a free loopback port
 * with its `cluster_name` set to `name` (so a query says which server it
 * reached), trust authentication; stopped and removed at the end of `t`.
 * As root (CI), both run as the `postgres` user, since PostgreSQL refuses root.
 */
const BIN = '/usr/lib/postgresql/15/bin';

export function havePostgres(t: Test): boolean {
  const ok = existsSync(join(BIN, 'postgres')) && existsSync('/usr/bin/psql');
  if (ok) return true;
  const why = `${BIN}/postgres or psql not installed (apt-get install postgresql postgresql-client; test/setup/install.sh does it)`;
  if (process.env.CI === 'true') t.fail(`PostgreSQL required under CI: ${why}`);
  else {
    process.stderr.write(`\n*** SKIPPING PostgreSQL tests: ${why} ***\n\n`);
    t.plan(0, `skipped: ${why}`);
  }
  return false;
}

const asPostgres = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** `ssl`: the server ends TLS itself with this certificate (for passthrough). */
export async function startPostgres(t: Test, name: string, ssl?: { cert: string; key: string }): Promise<{ port: number }> {
  const dir = mkdtempSync(join(tmpdir(), `portier-pg-${name}-`));
  const owner = process.getuid?.() === 0 ? [Number((await run('id', ['-u', 'postgres'])).trim()), Number((await run('id', ['-g', 'postgres'])).trim())] as const : undefined;
  if (owner) chownSync(dir, ...owner);
  const sslArgs: string[] = [];
  if (ssl) {
    for (const [file, pem] of [['server.crt', ssl.cert], ['server.key', ssl.key]]) {
      // PostgreSQL refuses a key file others can read, or one it does not own.
      writeFileSync(join(dir, file), pem, { mode: 0o600 });
      if (owner) chownSync(join(dir, file), ...owner);
    }
    sslArgs.push('-c', 'ssl=on', '-c', `ssl_cert_file=${join(dir, 'server.crt')}`, '-c', `ssl_key_file=${join(dir, 'server.key')}`);
  }
  const data = join(dir, 'data');
  await run(...asPostgres(join(BIN, 'initdb'), ['-D', data, '-U', 'portier', '--auth=trust', '--no-sync', '-E', 'UTF8']));
  const port = await freePort();
  const [cmd, args] = asPostgres(join(BIN, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', `cluster_name=${name}`, '-c', 'fsync=off', ...sslArgs]);
  const proc: ChildProcess = spawn(cmd, args, { stdio: 'ignore' });
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => (clearTimeout(timer), resolve()));
        // runuser passes the signal on; SIGINT is PostgreSQL's fast shutdown.
        proc.kill('SIGINT');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 30_000;
  while (!(await run(join(BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-t', '1']).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Error(`postgres ${name} not ready within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port };
}
