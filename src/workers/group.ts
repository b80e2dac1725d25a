import cluster, { type Worker } from 'node:cluster';
import type { Portier } from '../app';
import type { ProviderSnapshot } from '../dynamic/model';
import type { Logger } from '../log/logger';
import { answerCalls, workerGone } from './group-state';
import type { LineRelay } from './line-relay';
import { isPortierMessage, type DownServers, type FromWorker, type SharedCertificate, type UpdateMessage } from './messages';

/**
 * Round robin: on this project's 2-core machine it spread new connections
 * within 51-55 % at every load, where shared handles (SCHED_NONE) let one
 * worker take 99 % of them at light load; it costs a hop through the
 * primary per new connection (docs/workers.md, with the figures).
 * NODE_CLUSTER_SCHED_POLICY still chooses.
 */
const SCHEDULING = cluster.SCHED_RR;


/** What an update said, to tell what the next one must: snapshots by identity, the rest as text. */
interface Sent {
  snapshots: ProviderSnapshot[];
  certificates: string;
  down: string;
}

interface Member {
  worker: Worker;
  /** The spare: its table is kept compiled, it binds nothing until a worker dies. */
  spare: boolean;
  ready: boolean;
  serving: boolean;
}

export interface WorkerGroupOptions {
  count: number;
  log: Logger;
  relay: LineRelay;
}

/**
 * The primary's side of a worker group: forks the workers, sends each of
 * them every change as one update (the merged snapshots, the health
 * checks' verdicts, the ACME certificates), answers their calls to the
 * group state and their metrics, and drains them all on stop.
 *
 * One more process than `count` is the spare: it loads, compiles every
 * update and binds nothing. When a worker dies the spare takes its place
 * at once (a new process takes one to two seconds to load on a busy
 * 2-core machine), and a new spare is forked behind it.
 */
export class WorkerGroup {
  private readonly members = new Map<number, Member>();
  private stopping = false;
  private backoffMs = 0;
  /** What the last broadcast said. */
  private sent?: Sent;
  private metricsSeq = 0;
  private readonly metricsWaiting = new Map<number, { answers: unknown[][]; left: number; done: () => void }>();
  private readonly servingWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** Why the last worker that could not serve could not. */
  private failure?: string;
  private readonly certificateWatch: NodeJS.Timeout;

  constructor(
    private readonly portier: Portier,
    private readonly opts: WorkerGroupOptions,
  ) {
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = SCHEDULING;
    // Stdout carries the access-log lines to the relay; stderr is the workers' log.
    cluster.setupPrimary({ silent: true });
    portier.gateway.onChange(() => this.broadcast());
    // An ACME order finishing changes no table: its certificate is looked for here.
    this.certificateWatch = setInterval(() => this.broadcast(), 1000).unref();
    for (let i = 0; i < opts.count; i++) this.fork(false);
    this.fork(true);
  }

  /** Resolves once every worker serves; rejects when one could not start, or `timeoutMs` passed first. */
  serving(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.allServing()) return resolve();
      this.servingWaiters.push({ resolve, reject });
      setTimeout(() => reject(new Error(`workers: not serving after ${timeoutMs} ms`)), timeoutMs).unref();
    });
  }

  /** Every connected worker's metric families, each as prom-client's getMetricsAsJSON gives them (at most 2 s). */
  metrics(): Promise<unknown[][]> {
    const id = ++this.metricsSeq;
    const targets = [...this.members.values()].filter((m) => m.serving && m.worker.isConnected());
    return new Promise((resolve) => {
      const entry = { answers: [] as unknown[][], left: targets.length, done: () => undefined as void };
      const finish = (): void => {
        this.metricsWaiting.delete(id);
        resolve(entry.answers);
      };
      entry.done = finish;
      this.metricsWaiting.set(id, entry);
      for (const m of targets) m.worker.send({ portier: 'metrics?', id });
      if (targets.length === 0) finish();
      setTimeout(finish, 2000).unref();
    });
  }

  /** Tells every worker to drain within `graceMs`; resolves when all exited (a worker still there a second later is killed). */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.certificateWatch);
    const exits = [...this.members.values()].map(({ worker }) => new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
      if (worker.isConnected()) worker.send({ portier: 'drain', graceMs });
      else worker.process.kill('SIGTERM');
      setTimeout(() => worker.process.kill('SIGKILL'), graceMs + 1000).unref();
    }));
    await Promise.all(exits);
  }

  private fork(spare: boolean): void {
    const worker = cluster.fork();
    const member: Member = { worker, spare, ready: false, serving: false };
    this.members.set(worker.id, member);
    if (worker.process.stdout) this.opts.relay.from(worker.process.stdout);
    worker.process.stderr?.pipe(process.stderr, { end: false });
    worker.on('message', (msg: unknown) => this.received(member, msg));
    worker.once('exit', (code, signal) => this.exited(member, code, signal));
  }

  private received(member: Member, msg: unknown): void {
    if (!isPortierMessage<FromWorker>(msg)) return;
    const { worker } = member;
    switch (msg.portier) {
      case 'calls':
        if (worker.isConnected()) worker.send(answerCalls(worker.id, msg));
        return;
      case 'ready':
        member.ready = true;
        worker.send({ ...this.update()!.message, standby: member.spare });
        return;
      case 'serving':
        member.serving = true;
        this.backoffMs = 0;
        this.opts.log.info('worker serving', { worker: worker.id, pid: worker.process.pid });
        if (this.allServing()) for (const w of this.servingWaiters.splice(0)) w.resolve();
        return;
      case 'failed':
        this.failure = msg.error;
        for (const w of this.servingWaiters.splice(0)) w.reject(new Error(msg.error));
        return;
      case 'metrics': {
        const waiting = this.metricsWaiting.get(msg.id);
        if (!waiting) return;
        waiting.answers.push(msg.metrics);
        if (--waiting.left === 0) waiting.done();
      }
    }
  }

  private exited(member: Member, code: number | null, signal: string | null): void {
    this.members.delete(member.worker.id);
    workerGone(member.worker.id);
    if (this.stopping) return;
    const spare = [...this.members.values()].find((m) => m.spare && m.ready && m.worker.isConnected());
    if (!member.spare && spare) {
      spare.spare = false;
      spare.worker.send({ portier: 'serve' });
    }
    // One that never served (a port it cannot bind) would die again at once: its successor waits, 1 s doubling to 30 s.
    this.backoffMs = member.serving || member.spare ? 0 : Math.min(30_000, Math.max(1000, this.backoffMs * 2));
    const replacement = !member.spare && !spare ? 'a worker' : 'a spare';
    for (const w of this.servingWaiters.splice(0)) w.reject(new Error(this.failure ?? `a worker exited (code ${code}, signal ${signal}) before it served`));
    this.opts.log.error(`worker exited; ${spare && !member.spare ? 'the spare serves in its place; ' : ''}starting ${replacement}`, {
      worker: member.worker.id, pid: member.worker.process.pid, code, signal, delayMs: this.backoffMs,
    });
    const again = (): void => {
      if (!this.stopping) this.fork(member.spare || spare !== undefined);
    };
    if (this.backoffMs === 0) again();
    else setTimeout(again, this.backoffMs).unref();
  }

  private allServing(): boolean {
    return [...this.members.values()].filter((m) => m.serving).length >= this.opts.count;
  }

  /** Sends the current state to every worker that waits for updates, when something changed since the last one. */
  private broadcast(): void {
    if (this.stopping) return;
    const ready = [...this.members.values()].filter((m) => m.ready && m.worker.isConnected());
    const update = this.update(this.sent);
    if (!update) return;
    this.sent = update.now;
    for (const m of ready) m.worker.send(update.message);
  }

  /**
   * One update against what `before` said (a new worker: nothing, so all
   * of it): the snapshots when any changed, the servers found down, the
   * certificates when they changed; undefined when nothing is new.
   */
  private update(before?: Sent): { message: UpdateMessage; now: Sent } | undefined {
    const snapshots = [...this.portier.gateway.providerSnapshots.values()].filter((s) => s.provider !== 'internal');
    const certificates = this.certificates();
    const down = this.down();
    const now: Sent = { snapshots, certificates: certificates.map((c) => c.certPem).join(''), down: JSON.stringify(down) };
    const changed = !before || snapshots.length !== before.snapshots.length || snapshots.some((s, i) => s !== before.snapshots[i]);
    const newCertificates = !before || now.certificates !== before.certificates;
    if (!changed && !newCertificates && now.down === before?.down) return undefined;
    const message: UpdateMessage = { portier: 'update', snapshots: changed ? snapshots : undefined, down, certificates: newCertificates ? certificates : undefined };
    return { message, now };
  }

  private down(): DownServers {
    const out: DownServers = {};
    for (const [name, { lb }] of this.portier.gateway.balancers()) {
      const urls = lb.servers.filter((s) => !s.healthy).map((s) => s.url);
      if (urls.length) out[name] = urls;
    }
    return out;
  }

  private certificates(): SharedCertificate[] {
    return this.portier.tls.store.entries('acme:').map(({ group, key, cert }) => ({ group, key, certPem: cert.certPem, keyPem: cert.keyPem }));
  }
}
