import { spawn, ChildProcess, execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { readdirSync, readFileSync } from 'node:fs';

/** The tail of a process's output, kept for the error message when it dies or never gets ready. */
class OutputTail {
  private text = '';
  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString()).slice(-4000);
  }
  toString(): string {
    return this.text.trim();
  }
}

export interface Started {
  name: string;
  child: ChildProcess;
  output: OutputTail;
}

/**
 * Every process the bench starts, pinned to one CPU with taskset (which execs,
 * so the PID is the program's own). Each runs in its own process group so that
 * stopping it also stops what it forked (nginx's worker), and `stopAll` runs on
 * every exit path, signals included.
 */
export class ProcessGroup {
  private readonly started: Started[] = [];
  private readonly running = new Set<ChildProcess>();

  /** `cpu`: one CPU, or a taskset list (`0,1`). */
  start(name: string, cpu: number | string, command: string, args: string[], env?: NodeJS.ProcessEnv): Started {
    const child = spawn('taskset', ['-c', String(cpu), command, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
    });
    const output = new OutputTail();
    child.stdout?.on('data', (c: Buffer) => output.add(c));
    child.stderr?.on('data', (c: Buffer) => output.add(c));
    child.on('error', (err) => output.add(Buffer.from(`spawn failed: ${err.message}\n`)));
    const s = { name, child, output };
    this.started.push(s);
    return s;
  }

  /** SIGTERM to each group, SIGKILL after `graceMs` for what is left. */
  async stopAll(graceMs = 3000): Promise<void> {
    for (const c of this.running) c.kill('SIGKILL');
    const running = this.started.splice(0).filter((s) => s.child.pid && s.child.exitCode === null && s.child.signalCode === null);
    await Promise.all(
      running.map(async (s) => {
        const exited = new Promise<void>((resolve) => s.child.once('exit', () => resolve()));
        signalGroup(s.child.pid!, 'SIGTERM');
        const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref());
        if ((await Promise.race([exited.then(() => true), timer])) === false) signalGroup(s.child.pid!, 'SIGKILL');
        // The group may outlive its leader (a worker still draining): make sure nothing of it stays.
        signalGroup(s.child.pid!, 'SIGKILL');
      }),
    );
  }

  /** Runs a command pinned to `cpu` to completion, bounded by `timeoutMs`, and returns its stdout. */
  run(cpu: number | string, command: string, args: string[], timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile('taskset', ['-c', String(cpu), command, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        this.running.delete(child);
        if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      });
      this.running.add(child);
    });
  }

  /** Last resort on process exit, where nothing asynchronous can run. */
  killAllNow(): void {
    for (const c of this.running) c.kill('SIGKILL');
    for (const s of this.started.splice(0)) if (s.child.pid) signalGroup(s.child.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** A port that was free a moment ago on 127.0.0.1 (the peers take a port number, not a socket). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Whether the request went over a connection an earlier request had used (keep-alive). */
  reusedSocket: boolean;
  /** For https: the negotiated protocol and cipher, and the certificate the server presented. */
  tls?: { protocol: string | null; cipher: string; fingerprint256: string };
}

/**
 * One GET, over http or https (any certificate accepted: the bench checks the
 * fingerprint itself), always asking for keep-alive as wrk does (the byte
 * relay passes `Connection: close` on without closing anything). Without
 * `agent`, on a connection of its own, closed after the answer; over https
 * to an IP address Node sends no SNI unless `servername` is given.
 */
export function get(url: string, opts: { agent?: http.Agent; servername?: string } = {}): Promise<Answer> {
  const secure = url.startsWith('https:');
  const own = opts.agent ? undefined : new (secure ? https.Agent : http.Agent)({ keepAlive: true });
  return new Promise<Answer>((resolve, reject) => {
    const options: https.RequestOptions = { agent: opts.agent ?? own, timeout: 2000 };
    if (secure) Object.assign(options, { rejectUnauthorized: false, servername: opts.servername });
    const req = (secure ? https : http).get(url, options, (res) => {
      // Read while the connection is surely open: without keep-alive it closes after the body.
      const socket = res.socket as tls.TLSSocket;
      const info = secure ? { protocol: socket.getProtocol(), cipher: socket.getCipher().name, fingerprint256: socket.getPeerCertificate().fingerprint256 } : undefined;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, reusedSocket: req.reusedSocket, tls: info }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  }).finally(() => own?.destroy());
}

/** Polls until `url` answers 200 with `body`; fails early, with the process's output, when it exits. */
export async function waitReady(p: Started, url: string, body: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before it was ready:\n${p.output}`);
    }
    try {
      const r = await get(url);
      if (r.status === 200 && r.body === body) return;
      last = `status ${r.status}, body ${JSON.stringify(r.body.slice(0, 200))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${p.name} not ready at ${url} within ${timeoutMs} ms (last: ${last}):\n${p.output}`);
}


// USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture Portier runs on.
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by every live process of the group
 * `pgid` (nginx's worker included). Throughput on a shared machine swings with
 * whatever else runs; CPU time per request varies far less, so the bench reports both.
 */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name, which may itself hold spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS_PER_SECOND;
}
