import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BODY, backendLaunch, nginxProxyLaunch, portierLaunch } from './peers';
import { ProcessGroup, Started, freePort, groupCpuSeconds, waitReady } from './processes';
import { parseWrkOutput } from './wrk-output';

/**
 * The workers row (issue 20, docs/workers.md): Portier with `workers: 2`
 * against nginx with `worker_processes 2`, and Portier with one process,
 * every one of them on both cores (wrk and the backend share them too, the
 * same for every target), measured in alternating rounds; the scaling
 * factor is workers=2 over workers=1. Portier's two cluster scheduling
 * policies are measured side by side, with the busiest worker's share of
 * the workers' CPU: 50 % is an even spread.
 * `node dist/test/bench/workers-row.js` runs this row alone.
 */

const BOTH = '0,1';
export const WORKERS_WRK = { threads: 2, connections: 100, seconds: 4, warmupSeconds: 1, rounds: 3 };

interface Target {
  name: string;
  url: string;
  process: Started;
  /** How many of its children serve (nginx's workers; Portier's, its spare left out). */
  workers: number;
}

export interface WorkersRow {
  target: string;
  requestsPerSec: number;
  p99Ms: number;
  cpuMicrosPerRequest: number;
  /** The busiest serving process's share of the serving processes' CPU, median over rounds. */
  busiestShare: number;
  errors: number;
}

export interface WorkersSummary {
  rows: WorkersRow[];
  /** Portier workers=2 (the default policy) over Portier workers=1, by req/s. */
  scaling: number;
  portierVsNginx: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** CPU ticks (user + system) of each child of `pid`. */
function childTicks(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return out;
  }
  for (const child of children) {
    try {
      const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(child), Number(f[11]) + Number(f[12]));
    } catch {
      // Exited between the listing and the read.
    }
  }
  return out;
}

function busiestShare(before: Map<number, number>, after: Map<number, number>, serving: number): number {
  const used = [...after].map(([pid, t]) => t - (before.get(pid) ?? 0)).sort((a, b) => b - a).slice(0, serving);
  const total = used.reduce((a, b) => a + b, 0);
  return total ? used[0] / total : 0;
}

async function measure(group: ProcessGroup, t: Target): Promise<WorkersRow> {
  const args = ['-t', String(WORKERS_WRK.threads), '-c', String(WORKERS_WRK.connections), '--latency'];
  const bound = (s: number): number => (s + 10) * 1000;
  await group.run(BOTH, 'wrk', [...args, '-d', `${WORKERS_WRK.warmupSeconds}s`, t.url], bound(WORKERS_WRK.warmupSeconds));
  const pid = t.process.child.pid!;
  const [cpuBefore, ticksBefore] = [groupCpuSeconds(pid), childTicks(pid)];
  const r = parseWrkOutput(await group.run(BOTH, 'wrk', [...args, '-d', `${WORKERS_WRK.seconds}s`, t.url], bound(WORKERS_WRK.seconds)));
  const cpu = groupCpuSeconds(pid) - cpuBefore;
  const errors = r.non2xx + r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout;
  return {
    target: t.name, requestsPerSec: r.requestsPerSec, p99Ms: r.latencyMs.p99, cpuMicrosPerRequest: (cpu * 1e6) / Math.max(1, r.requests),
    busiestShare: busiestShare(ticksBefore, childTicks(pid), t.workers), errors,
  };
}

/** Starts the four targets in front of the backend at `backendPort` and measures them (the group stops them). */
export async function workersScenario(group: ProcessGroup, dir: string, backendPort: number, log: (line: string) => void): Promise<WorkersSummary> {
  const targets: Target[] = [];
  const start = async (name: string, workers: number, launch: (port: number) => { command: string; args: string[] }, env?: NodeJS.ProcessEnv): Promise<void> => {
    const port = await freePort();
    const l = launch(port);
    const url = `http://127.0.0.1:${port}/`;
    const started = group.start(name, BOTH, l.command, l.args, env && { ...process.env, ...env });
    await waitReady(started, url, BODY, 30_000);
    targets.push({ name, url, process: started, workers });
  };
  await start('nginx workers=2', 2, (port) => nginxProxyLaunch(dir, 'nginx-2', port, backendPort, { workers: 2 }));
  await start('portier workers=1', 1, (port) => portierLaunch(dir, 'portier-1', port, backendPort));
  await start('portier workers=2', 2, (port) => portierLaunch(dir, 'portier-2', port, backendPort, { workers: 2 }));
  await start('portier workers=2 SCHED_NONE', 2, (port) => portierLaunch(dir, 'portier-2-none', port, backendPort, { workers: 2 }), { NODE_CLUSTER_SCHED_POLICY: 'none' });
  const runs = new Map<string, WorkersRow[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < WORKERS_WRK.rounds; round++) {
    for (const t of targets) {
      const r = await measure(group, t);
      runs.get(t.name)!.push(r);
      log(`  round ${round + 1}  ${t.name.padEnd(30)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ${r.cpuMicrosPerRequest.toFixed(1).padStart(6)} us CPU/req  busiest ${(r.busiestShare * 100).toFixed(0)}%${r.errors ? `  ${r.errors} errors` : ''}`);
    }
  }
  const rows = targets.map((t): WorkersRow => {
    const rs = runs.get(t.name)!;
    return {
      target: t.name, requestsPerSec: median(rs.map((r) => r.requestsPerSec)), p99Ms: median(rs.map((r) => r.p99Ms)),
      cpuMicrosPerRequest: median(rs.map((r) => r.cpuMicrosPerRequest)), busiestShare: median(rs.map((r) => r.busiestShare)), errors: rs.reduce((n, r) => n + r.errors, 0),
    };
  });
  const rps = (name: string): number => rows.find((r) => r.target === name)!.requestsPerSec;
  return { rows, scaling: rps('portier workers=2') / rps('portier workers=1'), portierVsNginx: rps('portier workers=2') / rps('nginx workers=2') };
}

export function workersTable(s: WorkersSummary): string {
  const head = ['target', 'req/s', 'p99 ms', 'CPU us/req', 'busiest worker', 'errors'];
  const body = s.rows.map((r) => [r.target, r.requestsPerSec.toFixed(0), r.p99Ms.toFixed(2), r.cpuMicrosPerRequest.toFixed(1), r.target.endsWith('=1') ? '-' : `${(r.busiestShare * 100).toFixed(0)}%`, String(r.errors)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line),
    `scaling workers=2 / workers=1: ${s.scaling.toFixed(2)}x; Portier workers=2 / nginx worker_processes 2: ${s.portierVsNginx.toFixed(2)}x req/s`,
  ].join('\n');
}

async function alone(group: ProcessGroup, dir: string): Promise<void> {
  const backendPort = await freePort();
  const backend = backendLaunch(dir, backendPort);
  await waitReady(group.start('backend', BOTH, backend.command, backend.args), `http://127.0.0.1:${backendPort}/`, BODY);
  const summary = await workersScenario(group, dir, backendPort, (l) => process.stdout.write(`${l}\n`));
  process.stdout.write(`\nWorkers (wrk -t${WORKERS_WRK.threads} -c${WORKERS_WRK.connections} -d${WORKERS_WRK.seconds}s, everything on CPUs ${BOTH})\n${workersTable(summary)}\n`);
}

if (require.main === module) {
  const group = new ProcessGroup();
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-workers-bench-'));
  process.on('exit', () => {
    group.killAllNow();
    rmSync(dir, { recursive: true, force: true });
  });
  alone(group, dir).then(
    () => group.stopAll().finally(() => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      group.stopAll().finally(() => process.exit(1));
    },
  );
}
