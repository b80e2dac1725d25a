/**
 * A real BIND 9 (`named -g`) authoritative for one test zone on a free
 * loopback port, accepting updates signed with a TSIG key, as in
 * shared/recipes/dns-etcd-redis.md; `dig` and `nsupdate` from bind9 tools.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './pebble';

export interface Bind {
  port: number;
  zone: string;
  keyName: string;
  /** base64 */
  secret: string;
  algorithm: string;
  /** The key in named.conf syntax, for `nsupdate -k`. */
  keyFile: string;
  dir: string;
  /** `dig +short` answers (TXT values unquoted). */
  txt(name: string): string[];
  log(): string;
  stop(): Promise<void>;
}

const BINARIES = ['/usr/sbin/named', '/usr/sbin/tsig-keygen', '/usr/bin/dig', '/usr/bin/nsupdate'];

/** Skips the file loudly when BIND is missing, except under CI=true where that is a failure. */
export function requireBind(t: { fail(msg: string): void; plan(n: number, msg?: string): void }): boolean {
  const missing = BINARIES.find((b) => !fs.existsSync(b));
  if (!missing) return true;
  const why = `${missing} is not installed (apt-get install bind9 bind9-utils bind9-dnsutils; test/setup/install.sh does it)`;
  if (process.env.CI === 'true') t.fail(`BIND required under CI: ${why}`);
  else {
    process.stderr.write(`\n*** SKIPPING DNS-01 tests: ${why} ***\n\n`);
    t.plan(0, `skipped: ${why}`);
  }
  return false;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startBind(zone: string, opts: { algorithm?: string } = {}): Promise<Bind> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-bind-'));
  const port = await freePort(true);
  const algorithm = opts.algorithm ?? 'hmac-sha256';
  const keyName = 'portier-key.';
  const keyFile = path.join(dir, 'key.conf');
  fs.writeFileSync(keyFile, execFileSync('/usr/sbin/tsig-keygen', ['-a', algorithm, keyName], { encoding: 'utf8' }));
  const secret = /secret "([^"]+)"/.exec(fs.readFileSync(keyFile, 'utf8'))![1];
  fs.writeFileSync(
    path.join(dir, 'db.zone'),
    `$TTL 5\n@ IN SOA ns.${zone}. admin.${zone}. 1 60 60 600 5\n@ IN NS ns.${zone}.\nns IN A 127.0.0.1\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'named.conf'),
    `include "${keyFile}";
options { directory "${dir}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; pid-file "${dir}/named.pid";
  recursion no; dnssec-validation no; allow-query { any; }; };
zone "${zone}" { type master; file "${dir}/db.zone"; allow-update { key ${keyName}; }; };
`,
  );
  const logPath = path.join(dir, 'named.log');
  const fd = fs.openSync(logPath, 'w');
  const child = spawn('/usr/sbin/named', ['-g', '-u', os.userInfo().username, '-c', path.join(dir, 'named.conf')], { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const log = (): string => fs.readFileSync(logPath, 'utf8');
  const stop = async (): Promise<void> => {
    await stopChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const dig = (name: string, type: string): string =>
    spawnSync('/usr/bin/dig', ['+short', '+time=2', '+tries=1', '-p', String(port), '@127.0.0.1', name, type], { encoding: 'utf8' }).stdout;
  const deadline = Date.now() + 20_000;
  while (!/IN SOA|^ns\./m.test(dig(zone, 'SOA'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const text = log();
      await stop();
      throw new Error(`named did not start: ${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, zone, keyName, secret, algorithm: `${algorithm}.`, keyFile, dir, log, stop,
    txt: (name) => dig(name, 'TXT').split('\n').filter(Boolean).map((l) => l.replace(/^"|"$/g, '')),
  };
}
