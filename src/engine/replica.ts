import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { probe } from './health-probe';
import { groupAlive, killGroup } from './process-group';
import { LogBuffer } from './log-buffer';
import type { ServiceSpec } from './stack';

export type ReplicaState = 'created' | 'running' | 'restarting' | 'exited';
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface ReplicaHealth {
  status: HealthStatus;
  failingStreak: number;
  /** The newest five probe results, as Docker keeps them. */
  log: HealthLogEntry[];
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** A replica that ran this long starts its backoff over. */
  resetAfterMs: number;
}

export interface ReplicaOptions {
  project: string;
  number: number;
  port: number;
  /** Environment the process inherits (Portier's own). */
  baseEnv: NodeJS.ProcessEnv;
  backoff: Backoff;
  logLines: number;
  logBytes: number;
  /** Lifecycle event in Docker's vocabulary (create, start, die, kill, stop, health_status: x). */
  onEvent: (r: Replica, action: string, attributes?: Record<string, string>) => void;
  /** Anything that changes whether the replica should receive traffic. */
  onChange: (r: Replica) => void;
  /** A process group started (alive) or is gone: the engine's watchdog tracks them. */
  onGroup: (pgid: number, alive: boolean) => void;
}

/** Docker's exit code for a command that could not be found or started. */
const CANNOT_START = 127;

/**
 * One process of a service, supervised like a container: its own process
 * group (so a stop reaches every child it forked), a fixed PORT for its whole
 * life, captured output, health probes and restarts with exponential backoff.
 */
export class Replica {
  readonly id = randomBytes(32).toString('hex');
  readonly name: string;
  readonly project: string;
  readonly service: string;
  readonly number: number;
  readonly port: number;
  readonly labels: Record<string, string>;
  /** What the replica sees on top of the inherited environment (Config.Env). */
  readonly env: Record<string, string>;
  readonly created = new Date();
  readonly logs: LogBuffer;
  state: ReplicaState = 'created';
  exitCode = 0;
  /** Why the command could not start, if it could not. */
  error = '';
  pid = 0;
  startedAt?: Date;
  finishedAt?: Date;
  restartCount = 0;
  /** Set once a stop began: the replica no longer takes new requests. */
  stopping = false;
  health?: ReplicaHealth;

  /** Resolves when the current process's stdout and stderr are closed (all its output is in `logs`). */
  outputDone: Promise<void> = Promise.resolve();
  private child?: ChildProcess;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private backoffStep = 0;

  constructor(
    readonly spec: ServiceSpec,
    private readonly opts: ReplicaOptions,
  ) {
    this.project = opts.project;
    this.service = spec.name;
    this.number = opts.number;
    this.port = opts.port;
    this.name = `${opts.project}-${spec.name}-${opts.number}`;
    this.labels = {
      ...spec.labels,
      'com.docker.compose.project': opts.project,
      'com.docker.compose.service': spec.name,
      'com.docker.compose.container-number': String(opts.number),
      'com.docker.compose.oneoff': 'False',
    };
    this.env = {
      ...spec.environment,
      PORT: String(opts.port),
      HOST: '127.0.0.1',
      PORTIER_REPLICA: this.name,
      PORTIER_PROJECT: opts.project,
      PORTIER_SERVICE: spec.name,
    };
    this.logs = new LogBuffer(opts.logLines, opts.logBytes);
  }

  /** Serves traffic: running, not stopping, and healthy if it has a health check. */
  get ready(): boolean {
    return this.state === 'running' && !this.stopping && (!this.health || this.health.status === 'healthy');
  }

  get commandLine(): string[] {
    const c = this.spec.command;
    return 'shell' in c ? ['/bin/sh', '-c', c.shell] : c.argv;
  }

  start(): void {
    this.stopping = false;
    this.error = '';
    const [cmd, ...args] = this.commandLine;
    if (!existsSync(this.spec.workingDir)) {
      this.failStart(`working_dir ${this.spec.workingDir} does not exist`);
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        cwd: this.spec.workingDir,
        env: { ...this.opts.baseEnv, ...this.env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.failStart(`cannot start ${cmd}: ${(err as Error).message}`);
      return;
    }
    if (child.pid === undefined) {
      child.once('error', (err) => this.failStart(`cannot start ${cmd}: ${err.message}`));
      return;
    }
    child.on('error', () => undefined);
    this.opts.onGroup(child.pid, true);
    this.child = child;
    this.pid = child.pid;
    this.state = 'running';
    this.startedAt = new Date();
    this.exitCode = 0;
    child.stdout?.on('data', (d: Buffer) => this.logs.write('stdout', d));
    child.stderr?.on('data', (d: Buffer) => this.logs.write('stderr', d));
    const closed = (stream: 'stdout' | 'stderr'): Promise<void> =>
      new Promise((resolve) => {
        const s = child[stream];
        if (!s) return resolve();
        s.once('close', () => {
          this.logs.end(stream);
          resolve();
        });
      });
    this.outputDone = Promise.all([closed('stdout'), closed('stderr')]).then(() => undefined);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(this.onExit(child, code, signal))));
    this.opts.onEvent(this, 'start');
    if (this.spec.healthcheck) {
      this.health = { status: 'starting', failingStreak: 0, log: [] };
      this.scheduleProbe();
    }
    this.opts.onChange(this);
  }

  /** First half of a stop: out of rotation, no more restarts or probes. */
  beginStop(): void {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.probeTimer);
    this.restartTimer = undefined;
    if (this.state === 'restarting') this.state = 'exited';
    this.opts.onChange(this);
  }

  /** Second half: SIGTERM to the process group, SIGKILL after stop_grace_period. */
  async terminate(): Promise<void> {
    this.beginStop();
    const child = this.child;
    if (!child) return;
    this.opts.onEvent(this, 'kill', { signal: '15' });
    killGroup(child.pid, 'SIGTERM');
    // The whole group gets the grace period: a shell leader may exit before the server it started.
    const deadline = Date.now() + this.spec.stopGraceMs;
    while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (groupAlive(child.pid)) {
      this.opts.onEvent(this, 'kill', { signal: '9' });
      killGroup(child.pid, 'SIGKILL');
    }
    await this.exited;
    this.opts.onGroup(child.pid as number, false);
    this.opts.onEvent(this, 'stop');
  }

  /** Last resort on process exit: no replica outlives the engine. */
  killNow(): void {
    if (this.child) killGroup(this.child.pid, 'SIGKILL');
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    // Whatever a crashed leader left behind in its group goes with it, as in a container;
    // during a stop, terminate() gives the rest of the group its grace period.
    if (!this.stopping) {
      killGroup(child.pid, 'SIGKILL');
      this.opts.onGroup(child.pid as number, false);
    }
    this.child = undefined;
    this.pid = 0;
    clearTimeout(this.probeTimer);
    this.exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
    this.finishedAt = new Date();
    this.state = 'exited';
    this.opts.onEvent(this, 'die', { exitCode: String(this.exitCode) });
    if (!this.stopping && this.shouldRestart()) this.scheduleRestart();
    this.opts.onChange(this);
  }

  private failStart(reason: string): void {
    this.state = 'exited';
    this.exitCode = CANNOT_START;
    this.error = reason;
    this.pid = 0;
    this.finishedAt = new Date();
    this.logs.note('stderr', `portier: ${reason}`);
    this.opts.onEvent(this, 'die', { exitCode: String(CANNOT_START) });
    this.opts.onChange(this);
  }

  private shouldRestart(): boolean {
    const { mode, maxRetries } = this.spec.restart;
    if (mode === 'always' || mode === 'unless-stopped') return true;
    if (mode === 'on-failure') return this.exitCode !== 0 && (maxRetries === 0 || this.restartCount < maxRetries);
    return false;
  }

  private scheduleRestart(): void {
    const { initialMs, maxMs, resetAfterMs } = this.opts.backoff;
    const ranFor = Date.now() - (this.startedAt?.getTime() ?? 0);
    if (ranFor >= resetAfterMs) this.backoffStep = 0;
    const delay = Math.min(initialMs * 2 ** this.backoffStep, maxMs);
    this.backoffStep++;
    this.state = 'restarting';
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restartCount++;
      this.start();
    }, delay);
  }

  private scheduleProbe(): void {
    const hc = this.spec.healthcheck;
    if (!hc || this.stopping || this.state !== 'running') return;
    // Until the first verdict, probe at least every second so a route goes live soon after the app is up.
    const wait = this.health?.status === 'starting' ? Math.min(hc.intervalMs, 1000) : hc.intervalMs;
    this.probeTimer = setTimeout(() => void this.runProbe(), wait);
  }

  private async runProbe(): Promise<void> {
    const hc = this.spec.healthcheck;
    const health = this.health;
    const child = this.child;
    if (!hc || !health || !child) return;
    const start = new Date();
    const result = await probe(hc.test, { port: this.port, cwd: this.spec.workingDir, env: { ...this.opts.baseEnv, ...this.env } }, hc.timeoutMs);
    if (this.child !== child || this.stopping) return;
    health.log = [...health.log, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: result.exitCode, Output: result.output }].slice(-5);
    const before = health.status;
    if (result.exitCode === 0) {
      health.failingStreak = 0;
      health.status = 'healthy';
    } else if (!(before === 'starting' && start.getTime() - (this.startedAt?.getTime() ?? 0) < hc.startPeriodMs)) {
      health.failingStreak++;
      if (health.failingStreak >= hc.retries) health.status = 'unhealthy';
    }
    if (health.status !== before) {
      this.opts.onEvent(this, `health_status: ${health.status}`);
      this.opts.onChange(this);
    }
    this.scheduleProbe();
  }
}
