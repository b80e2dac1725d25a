import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, rmdirSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import type tap from 'tap';

/**
 * A real Docker engine for integration tests. Uses the engine already
 * answering on /var/run/docker.sock, else (as root) starts
 * `dockerd --bridge=none --iptables=false --ip-masq=false` in the background
 * and stops it again by PID. Test files that use the engine take a
 * machine-wide lock, so one file restarting dockerd or creating a swarm
 * never pulls the engine from under another.
 */
export const SOCKET = '/var/run/docker.sock';
export const TEST_IMAGE = 'portier-test/bb:1';
const LOCK = path.join(os.tmpdir(), 'portier-docker-tests.lock');
const run = promisify(execFile);

export interface DockerEngine {
  docker: Dockerode;
  socket: string;
  /** Restarts dockerd (by PID) with the arguments it runs with; resolves when it answers again. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export class MissingComponent extends Error {}

export async function ensureDockerEngine(): Promise<DockerEngine> {
  if (!(await which('dockerd')) || !(await which('docker'))) throw new MissingComponent('docker.io is not installed (test/setup/install.sh installs it)');
  const release = await acquireLock();
  const docker = new Dockerode({ socketPath: SOCKET });
  let started: number | undefined;
  try {
    if (!(await answers(docker))) {
      if (process.getuid?.() !== 0) throw new MissingComponent('no Docker engine running and not root, cannot start dockerd');
      started = startDockerd(['--host', `unix://${SOCKET}`, '--bridge=none', '--iptables=false', '--ip-masq=false']);
      await waitFor(() => answers(docker), 60_000, 'dockerd to answer');
    }
  } catch (err) {
    release();
    throw err;
  }
  let stopped = false;
  return {
    docker,
    socket: SOCKET,
    async restart() {
      const pid = Number(readFileSync('/var/run/docker.pid', 'utf8'));
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '').slice(1);
      await killAndWait(pid);
      const fresh = startDockerd(args);
      if (started !== undefined) started = fresh;
      await waitFor(() => answers(docker), 60_000, 'dockerd to answer after restart');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (started !== undefined) await killAndWait(started);
      } finally {
        release();
      }
    },
  };
}

/** The engine, or undefined after a loud notice when Docker is not installed and CI is not "true". */
export async function engineOrSkip(t: Pick<typeof tap, "comment" | "plan">): Promise<DockerEngine | undefined> {
  try {
    return await ensureDockerEngine();
  } catch (err) {
    if (!(err instanceof MissingComponent) || process.env.CI === 'true') throw err;
    const msg = `SKIPPING Docker integration tests: ${err.message}`;
    process.stderr.write(`\n!!!!! ${msg} !!!!!\n\n`);
    t.comment(msg);
    t.plan(0, msg);
    return undefined;
  }
}

/** Builds portier-test/bb:1 (static busybox, httpd, a CGI printing the hostname) with `docker import` if missing. */
export async function ensureTestImage(docker: Dockerode): Promise<string> {
  const images = await docker.listImages({ filters: JSON.stringify({ reference: [TEST_IMAGE] }) } as Dockerode.ListImagesOptions);
  if (images.length > 0) return TEST_IMAGE;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-bb-'));
  try {
    const root = path.join(dir, 'rootfs');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'www', 'cgi-bin'), { recursive: true });
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    writeFileSync(path.join(root, 'bin', 'busybox'), readFileSync('/bin/busybox'));
    chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'httpd', 'echo', 'cat', 'hostname', 'sleep', 'wget', 'test', 'kill', 'ls']) symlinkSync('busybox', path.join(root, 'bin', a));
    const cgi = path.join(root, 'www', 'cgi-bin', 'who');
    writeFileSync(cgi, '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"; hostname\n');
    chmodSync(cgi, 0o755);
    writeFileSync(path.join(root, 'www', 'index.html'), 'ok\n');
    await run('tar', ['-C', root, '-cf', path.join(dir, 'bb.tar'), '.']);
    await run('docker', ['-H', `unix://${SOCKET}`, 'import', path.join(dir, 'bb.tar'), TEST_IMAGE]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return TEST_IMAGE;
}

/** Runs the docker CLI against the test engine; rejects with its stderr. */
export async function dockerCli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  const { stdout } = await run('docker', ['-H', `unix://${SOCKET}`, ...args], { cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000 });
  return stdout.trim();
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function answers(docker: Dockerode): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

function startDockerd(args: string[]): number {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'portier-dockerd-'));
  const out = openSync(path.join(logDir, 'dockerd.log'), 'a');
  const child = spawn('dockerd', args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  return child.pid!;
}

async function killAndWait(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2].startsWith('Z');
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(() => !alive(), 30_000, `dockerd ${pid} to exit`);
  } catch {
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !alive(), 5_000, `dockerd ${pid} to die`);
  }
}

async function acquireLock(): Promise<() => void> {
  const owner = path.join(LOCK, 'pid');
  await waitFor(
    () => {
      try {
        mkdirSync(LOCK);
        writeFileSync(owner, String(process.pid));
        return true;
      } catch {
        // A lock left by a crashed test run is taken over.
        const holder = Number(existsSync(owner) ? readFileSync(owner, 'utf8') : NaN);
        if (Number.isFinite(holder) && !pidAlive(holder)) rmSync(LOCK, { recursive: true, force: true });
        return false;
      }
    },
    600_000,
    'the Docker test lock',
    250,
  );
  const release = (): void => {
    rmSync(owner, { force: true });
    try {
      rmdirSync(LOCK);
    } catch {
      // already released
    }
  };
  process.once('exit', release);
  return release;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function which(bin: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${bin}`]);
    return true;
  } catch {
    return false;
  }
}

/** A free 127.0.0.1 TCP port (host-network containers each need their own). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface BackendSpec {
  name: string;
  port: number;
  /** Body of GET / (tells replicas apart). */
  body?: string;
  labels?: Record<string, string>;
  /** Extra `docker run` flags (`--health-cmd`, `--restart`, `--expose`). */
  flags?: string[];
}

/** `docker run` of a host-network busybox httpd on 127.0.0.1:<port> serving `body` at /. */
export async function runBackend(spec: BackendSpec): Promise<string> {
  const labels = Object.entries(spec.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const script = `mkdir -p /tmp/w && echo ${spec.body ?? spec.name} > /tmp/w/index.html && exec httpd -f -p 127.0.0.1:${spec.port} -h /tmp/w`;
  return dockerCli(['run', '-d', '--network', 'host', '--name', spec.name, ...labels, ...(spec.flags ?? []), TEST_IMAGE, 'sh', '-c', script]);
}

/** Removes containers by name, ignoring the ones already gone. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length) await dockerCli(['rm', '-f', ...names]).catch(() => undefined);
}
