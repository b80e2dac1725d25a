import { EventEmitter } from 'node:events';
import { PortierError } from '../errors';
import { silentLogger, type Logger } from '../log/logger';
import { containerEvent, type DockerEvent } from './events';
import { freePort } from './free-port';
import { Replica, type Backoff } from './replica';
import { loadStackFile, type ServiceSpec, type StackSpec } from './stack';
import { Watchdog } from './watchdog';

export interface EngineOptions {
  logger?: Logger;
  /**
   * Time between taking a replica out of rotation ('change') and signalling
   * it, so the gateway stops sending it new requests first. Default 300 ms.
   */
  drainDelayMs?: number;
  /** Restart backoff: default 100 ms doubling to 30 s, reset after 10 s of running. */
  backoff?: Partial<Backoff>;
  /** Per-replica log ring: default 1000 lines and 1 MiB. */
  logLines?: number;
  logBytes?: number;
  /** Environment replicas inherit and stack files interpolate; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface UpOptions {
  /** Overrides the stack file's `name`. */
  project?: string;
  /** Replicas per service, overriding the file. */
  scale?: Record<string, number>;
}

export interface ProjectSummary {
  name: string;
  file: string;
  services: { name: string; replicas: number; running: number; ready: number }[];
}

interface Project {
  spec: StackSpec;
  replicas: Map<string, Replica[]>;
  /** Serialises up/scale/restart/down of one project. */
  queue: Promise<unknown>;
  closing: boolean;
}

const HISTORY = 1000;

/**
 * Portier's runtime core: runs the services of stack files as supervised
 * local processes. Emits 'event' (a DockerEvent) for every lifecycle step and
 * 'change' whenever the set of replicas or their readiness changes; on a stop
 * the 'change' that takes a replica out of rotation comes before its signal.
 */
export class Engine extends EventEmitter {
  private readonly projectsByName = new Map<string, Project>();
  private readonly history: DockerEvent[] = [];
  private readonly ports = new Set<number>();
  private readonly watchdog = new Watchdog();
  private readonly log: Logger;
  private readonly drainDelayMs: number;
  private readonly backoff: Backoff;
  private closed = false;
  private readonly killAll = (): void => {
    for (const r of this.list()) r.killNow();
  };

  constructor(private readonly opts: EngineOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.log = opts.logger ?? silentLogger;
    this.drainDelayMs = opts.drainDelayMs ?? 300;
    this.backoff = { initialMs: 100, maxMs: 30_000, resetAfterMs: 10_000, ...opts.backoff };
    process.on('exit', this.killAll);
  }

  /** Starts a stack file's services in dependency order. */
  async up(file: string, opts: UpOptions = {}): Promise<ProjectSummary> {
    return this.upStack(loadStackFile(file, { project: opts.project, env: this.opts.env }), opts.scale);
  }

  async upStack(spec: StackSpec, scale: Record<string, number> = {}): Promise<ProjectSummary> {
    if (this.closed) throw new PortierError('ENGINE', 'the engine is shutting down', { status: 503 });
    const existing = this.projectsByName.get(spec.project);
    if (existing) {
      throw new PortierError('ENGINE', `project "${spec.project}" is already up (from ${existing.spec.file}); bring it down first or pick another name with -p`, { status: 409 });
    }
    for (const [svc, n] of Object.entries(scale)) {
      if (!spec.services.some((s) => s.name === svc)) throw new PortierError('ENGINE', `no service "${svc}" in project "${spec.project}"`, { path: `--scale ${svc}`, status: 400 });
      if (!Number.isInteger(n) || n < 0) throw new PortierError('ENGINE', `replicas must be 0 or more, got ${n}`, { path: `--scale ${svc}`, status: 400 });
    }
    const project: Project = { spec, replicas: new Map(spec.services.map((s) => [s.name, []])), queue: Promise.resolve(), closing: false };
    this.projectsByName.set(spec.project, project);
    this.log.info('project up', { project: spec.project, file: spec.file });
    try {
      await this.enqueue(project, async () => {
        for (const svc of spec.services) {
          await this.waitForDependencies(project, svc);
          await this.addReplicas(project, svc, scale[svc.name] ?? svc.replicas);
        }
      });
    } catch (err) {
      if (!project.closing) await this.down(spec.project).catch(() => undefined);
      throw err;
    }
    return this.summary(project);
  }

  /** Stops and removes every replica of a project. */
  async down(name: string): Promise<void> {
    const project = this.project(name);
    project.closing = true;
    // Wakes an `up` still waiting for a dependency, so it gives up and frees the queue.
    this.emit('change');
    await this.enqueue(project, async () => {
      const all = [...project.replicas.values()].flat();
      await this.removeReplicas(project, all);
    }).finally(() => {
      this.projectsByName.delete(name);
      this.emit('change');
    });
    this.log.info('project down', { project: name });
  }

  async scale(name: string, service: string, replicas: number): Promise<void> {
    const project = this.project(name);
    const spec = this.service(project, service);
    if (!Number.isInteger(replicas) || replicas < 0) throw new PortierError('ENGINE', `replicas must be 0 or more, got ${replicas}`, { status: 400 });
    await this.enqueue(project, async () => {
      const current = project.replicas.get(service) ?? [];
      if (replicas > current.length) await this.addReplicas(project, spec, replicas - current.length);
      else await this.removeReplicas(project, [...current].sort((a, b) => b.number - a.number).slice(0, current.length - replicas));
    });
  }

  /** Restarts the replicas of one service (or all), one at a time. */
  async restart(name: string, service?: string): Promise<void> {
    const project = this.project(name);
    if (service !== undefined) this.service(project, service);
    await this.enqueue(project, async () => {
      const targets = service === undefined ? [...project.replicas.values()].flat() : (project.replicas.get(service) ?? []);
      for (const r of targets) {
        r.beginStop();
        await sleep(this.drainDelayMs);
        await r.terminate();
        r.restartCount++;
        r.start();
        this.record(r, 'restart');
      }
    });
  }

  /** Replicas of every project, in project, service and number order. */
  list(): Replica[] {
    return [...this.projectsByName.values()].flatMap((p) => [...p.replicas.values()].flat().sort((a, b) => a.number - b.number));
  }

  /** By full id, name, or an unambiguous id prefix (as Docker resolves them). */
  find(idOrName: string): Replica | undefined {
    const all = this.list();
    const exact = all.find((r) => r.id === idOrName || r.name === idOrName);
    if (exact) return exact;
    const byPrefix = all.filter((r) => r.id.startsWith(idOrName));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }

  projects(): ProjectSummary[] {
    return [...this.projectsByName.values()].map((p) => this.summary(p));
  }

  /** Past events (the newest 1000) between two times in ms. */
  events(sinceMs = 0, untilMs = Infinity): DockerEvent[] {
    return this.history.filter((e) => e.timeNano / 1e6 >= sinceMs && e.timeNano / 1e6 <= untilMs);
  }

  /** Stops every replica of every project; the engine takes no more work. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.projectsByName.keys()].map((name) => this.down(name)));
    this.watchdog.close();
    process.removeListener('exit', this.killAll);
  }

  private async addReplicas(project: Project, spec: ServiceSpec, count: number): Promise<void> {
    const list = project.replicas.get(spec.name) as Replica[];
    for (let i = 0; i < count; i++) {
      const used = new Set(list.map((r) => r.number));
      let number = 1;
      while (used.has(number)) number++;
      const port = await freePort(this.ports);
      this.ports.add(port);
      const replica = new Replica(spec, {
        project: project.spec.project,
        number,
        port,
        baseEnv: this.opts.env ?? process.env,
        backoff: this.backoff,
        logLines: this.opts.logLines ?? 1000,
        logBytes: this.opts.logBytes ?? 1 << 20,
        onEvent: (r, action, attrs) => this.record(r, action, attrs),
        onChange: () => this.emit('change'),
        onGroup: (pgid, alive) => (alive ? this.watchdog.add(pgid) : this.watchdog.remove(pgid)),
      });
      list.push(replica);
      this.record(replica, 'create');
      replica.start();
      if (replica.error) this.log.warn('replica could not start', { replica: replica.name, error: replica.error });
    }
  }

  private async removeReplicas(project: Project, replicas: Replica[]): Promise<void> {
    if (replicas.length === 0) return;
    for (const r of replicas) r.beginStop();
    if (replicas.some((r) => r.state === 'running')) await sleep(this.drainDelayMs);
    await Promise.all(replicas.map((r) => r.terminate()));
    for (const r of replicas) {
      const list = project.replicas.get(r.service) ?? [];
      list.splice(list.indexOf(r), 1);
      this.ports.delete(r.port);
      this.record(r, 'destroy');
    }
    this.emit('change');
  }

  /** Resolves once every `service_healthy` dependency is healthy; fails if one gives up. */
  private waitForDependencies(project: Project, svc: ServiceSpec): Promise<void> {
    const deps = svc.dependsOn.filter((d) => d.condition === 'service_healthy');
    if (deps.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        let failed: string | undefined;
        let pending = false;
        for (const d of deps) {
          for (const r of project.replicas.get(d.service) ?? []) {
            if (r.state === 'exited' || r.health?.status === 'unhealthy') failed = `dependency ${r.name} is ${r.state === 'exited' ? `exited (${r.exitCode})` : 'unhealthy'}`;
            else if (r.health?.status !== 'healthy') pending = true;
          }
        }
        if (project.closing) failed = 'the project is going down';
        if (!failed && pending) return;
        this.off('change', check);
        if (failed) reject(new PortierError('ENGINE', failed, { path: `services.${svc.name}.depends_on`, status: 424 }));
        else resolve();
      };
      this.on('change', check);
      check();
    });
  }

  private record(r: Replica, action: string, attrs?: Record<string, string>): void {
    const ev = containerEvent(r, action, attrs);
    this.history.push(ev);
    if (this.history.length > HISTORY) this.history.shift();
    this.emit('event', ev);
  }

  private enqueue<T>(project: Project, fn: () => Promise<T>): Promise<T> {
    const run = project.queue.then(fn);
    project.queue = run.catch(() => undefined);
    return run;
  }

  private project(name: string): Project {
    const p = this.projectsByName.get(name);
    if (!p) {
      const known = [...this.projectsByName.keys()];
      throw new PortierError('ENGINE', `no project "${name}"${known.length ? ` (running: ${known.join(', ')})` : ' (none running)'}`, { status: 404 });
    }
    return p;
  }

  private service(project: Project, name: string): ServiceSpec {
    const s = project.spec.services.find((x) => x.name === name);
    if (!s) throw new PortierError('ENGINE', `no service "${name}" in project "${project.spec.project}"`, { status: 404 });
    return s;
  }

  private summary(p: Project): ProjectSummary {
    return {
      name: p.spec.project,
      file: p.spec.file,
      services: p.spec.services.map((s) => {
        const rs = p.replicas.get(s.name) ?? [];
        return { name: s.name, replicas: rs.length, running: rs.filter((r) => r.state === 'running').length, ready: rs.filter((r) => r.ready).length };
      }),
    };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
