import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { freePort } from './pebble';

/**
 * A real etcd and a real Redis for the KV providers' tests, each on free
 * loopback ports with its data in a temporary folder, started by the test
 * and stopped by PID in its teardown (recipes/dns-etcd-redis.md). Keys are
 * written with the stores' own command-line clients, as a user would.
 */
interface Tap {
  teardown(fn: () => unknown): void;
  fail(msg: string): void;
  plan(n: number, msg?: string): void;
}

const BINARIES = { etcd: ['/usr/bin/etcd', '/usr/bin/etcdctl'], redis: ['/usr/bin/redis-server', '/usr/bin/redis-cli'] };

/** Skips the file loudly when a store is not installed, except under CI=true where that is a failure. */
export function requireStore(t: Tap, store: keyof typeof BINARIES): boolean {
  const missing = BINARIES[store].filter((b) => !existsSync(b));
  if (!missing.length) return true;
  const why = `${missing.join(', ')} not installed (apt-get install etcd-server etcd-client redis-server redis-tools; test/setup/install.sh does it)`;
  if (process.env.CI === 'true') t.fail(`${store} required under CI: ${why}`);
  else {
    process.stderr.write(`\n*** SKIPPING ${store} tests: ${why} ***\n\n`);
    t.plan(0, `skipped: ${why}`);
  }
  return false;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 10_000, cwd }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout.trim())));
  });
}

async function waitPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} not listening within ${ms} ms`);
}

function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => (clearTimeout(timer), resolve()));
    p.kill('SIGTERM');
  });
}

export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A test CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in a temporary folder. */
export async function makeTlsFiles(t: Tap): Promise<TlsFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'portier-kv-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]): Promise<string> => run('openssl', args, {}, dir);
  await ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=portier kv test CA');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const name of ['server', 'client']) {
    await ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const f = (n: string): string => join(dir, n);
  return { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server-key.pem'), clientCert: f('client.pem'), clientKey: f('client-key.pem') };
}

export interface Store {
  /** The endpoint in Traefik's form, `127.0.0.1:port`. */
  endpoint: string;
  port: number;
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  /** A key's value, undefined when it does not exist. */
  get(key: string): Promise<string | undefined>;
  /** The keys starting with `prefix`, sorted. */
  keys(prefix: string): Promise<string[]>;
  /** Stops the server (its data is kept for start()). */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * `reader`: with authentication on, a user of that name and password that
 * may only read below `traefik/` (keys are then written as root). `writer`:
 * likewise, one that may read and write below `prefix`. `tls`: HTTPS, and
 * client certificates required unless `anyClient`.
 */
export async function startEtcd(
  t: Tap,
  opts: { reader?: { name: string; password: string }; writer?: { name: string; password: string; prefix: string }; tls?: TlsFiles; anyClient?: boolean } = {},
): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'portier-etcd-'));
  const [port, peer] = [await freePort(), await freePort()];
  let proc: ChildProcess | undefined;
  let root: string[] = [];
  const scheme = opts.tls ? 'https' : 'http';
  const ctlTls = opts.tls ? [`--cacert=${opts.tls.ca}`, `--cert=${opts.tls.clientCert}`, `--key=${opts.tls.clientKey}`] : [];
  const clientAuth = opts.tls && !opts.anyClient ? ['--client-cert-auth', '--trusted-ca-file', opts.tls.ca] : [];
  const serverTls = opts.tls ? ['--cert-file', opts.tls.serverCert, '--key-file', opts.tls.serverKey, ...clientAuth] : [];
  const ctl = (...args: string[]): Promise<string> => run('etcdctl', [`--endpoints=${scheme}://127.0.0.1:${port}`, ...ctlTls, ...root, ...args], { ETCDCTL_API: '3' });
  const start = async (): Promise<void> => {
    proc = spawn('etcd', [
      '--data-dir', join(dir, 'data'), ...serverTls,
      '--listen-client-urls', `${scheme}://127.0.0.1:${port}`, '--advertise-client-urls', `${scheme}://127.0.0.1:${port}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `default=http://127.0.0.1:${peer}`,
    ], { stdio: 'ignore' });
    await waitPort(port, 15_000);
    const deadline = Date.now() + 15_000;
    // etcdctl says "is healthy" on stderr: its exit status is the answer.
    while (!(await ctl('endpoint', 'health').then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error('etcd not healthy within 15 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  t.teardown(async () => {
    await stopProcess(proc);
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  const users = [
    ...(opts.reader ? [{ ...opts.reader, role: 'reader', permission: 'read', prefix: 'traefik/' }] : []),
    ...(opts.writer ? [{ ...opts.writer, role: 'writer', permission: 'readwrite' }] : []),
  ];
  if (users.length) {
    await ctl('user', 'add', 'root', '--new-user-password=root-secret');
    await ctl('user', 'grant-role', 'root', 'root');
    for (const u of users) {
      await ctl('role', 'add', u.role);
      await ctl('role', 'grant-permission', u.role, '--prefix=true', u.permission, u.prefix);
      await ctl('user', 'add', u.name, `--new-user-password=${u.password}`);
      await ctl('user', 'grant-role', u.name, u.role);
    }
    await ctl('auth', 'enable');
    root = ['--user=root:root-secret'];
  }
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    put: async (k, v) => void (await ctl('put', k, v)),
    del: async (k) => void (await ctl('del', k)),
    // --print-value-only: an absent key prints nothing, a present one its value (never empty here).
    get: async (k) => (await ctl('get', k, '--print-value-only')) || undefined,
    keys: async (prefix) => (await ctl('get', prefix, '--prefix', '--keys-only')).split('\n').filter(Boolean).sort(),
    stop: () => stopProcess(proc),
    start,
  };
}

export interface RedisStore extends Store {
  cli(...args: string[]): Promise<string>;
}

/**
 * `notifications`: `notify-keyspace-events` at start (Redis's default is
 * off, as on managed Redis). `configRefused`: CONFIG is renamed away, as
 * managed offerings refuse it. `adminPassword`: the default user's password
 * (redis-cli uses it). `tls`: TLS only, client certificates required
 * unless `anyClient`. Stopped with SHUTDOWN SAVE so that a restart finds
 * its keys, like a store with persistence.
 */
export async function startRedis(
  t: Tap,
  opts: { notifications?: string; configRefused?: boolean; adminPassword?: string; replicaOf?: number; tls?: TlsFiles; anyClient?: boolean } = {},
): Promise<RedisStore> {
  const dir = mkdtempSync(join(tmpdir(), 'portier-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const auth = opts.adminPassword ? ['-a', opts.adminPassword, '--no-auth-warning'] : [];
  const cliTls = opts.tls ? ['--tls', '--cacert', opts.tls.ca, '--cert', opts.tls.clientCert, '--key', opts.tls.clientKey] : [];
  const cli = (...args: string[]): Promise<string> => run('redis-cli', ['-p', String(port), ...cliTls, ...auth, ...args]);
  const start = async (): Promise<void> => {
    const listen = opts.tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.serverCert, '--tls-key-file', opts.tls.serverKey, '--tls-ca-cert-file', opts.tls.ca, ...(opts.anyClient ? ['--tls-auth-clients', 'no'] : [])]
      : ['--port', String(port)];
    const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    if (opts.adminPassword) args.push('--requirepass', opts.adminPassword);
    if (opts.replicaOf) args.push('--replicaof', '127.0.0.1', String(opts.replicaOf));
    if (opts.notifications) args.push('--notify-keyspace-events', opts.notifications);
    if (opts.configRefused) args.push('--rename-command', 'CONFIG', '');
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    await waitPort(port, 10_000);
  };
  const stop = async (): Promise<void> => {
    await cli('shutdown', 'save').catch(() => undefined);
    await stopProcess(proc);
  };
  t.teardown(async () => {
    await stopProcess(proc);
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    cli,
    put: async (k, v) => void (await cli('set', k, v)),
    del: async (k) => void (await cli('del', k)),
    // redis-cli prints nil as an empty line (no tty).
    get: async (k) => (await cli('get', k)) || undefined,
    keys: async (prefix) => (await cli('--scan', '--pattern', `${prefix}*`)).split('\n').filter(Boolean).sort(),
    stop,
    start,
  };
}

/** A Redis Sentinel watching the master on `masterPort` as `masterName`; returns its `127.0.0.1:port`. */
export async function startSentinel(t: Tap, masterName: string, masterPort: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'portier-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  // Sentinel rewrites its file, so it must be its own and writable.
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1\nsentinel down-after-milliseconds ${masterName} 5000\n`);
  const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  t.teardown(async () => {
    await stopProcess(proc);
    rmSync(dir, { recursive: true, force: true });
  });
  await waitPort(port, 10_000);
  return `127.0.0.1:${port}`;
}

/** Polls `cond` every 25 ms until it holds; fails after `ms`. */
export async function until(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await cond().catch(() => false)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}
