import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseWrkOutput, WrkResult } from './wrk-output';
import { ProcessGroup, freePort, get, groupCpuSeconds, waitReady, Started } from './processes';
import { BODY, Launch, backendLaunch, haproxyLaunch, nginxProxyLaunch, portierLaunch } from './peers';

/**
 * `npm run bench`: the backend, nginx, HAProxy and Portier (with and without
 * metrics) side by side in one run, each measured by wrk three times in alternating
 * rounds. Pinning on a 2-core machine: the proxy under test owns CPU 1; wrk
 * and the backend share CPU 0, so the "direct" row is the ceiling of this
 * harness, not the backend's own capacity. See docs/benchmarks.md.
 */

const REPO = join(__dirname, '..', '..', '..');
const CPU_LOAD = 0;
const CPU_PROXY = 1;
const WRK = { threads: 1, connections: 50, seconds: 4, warmupSeconds: [2, 1, 1] };
// Three, not two: the median of three drops one disturbed round; of two it is their mean.
const ROUNDS = 3;
const TARGETS = { ratio: 0.5, metricsOverhead: 0.05 };
const RELAY = 'node relay (ceiling)';

interface Target {
  name: string;
  url: string;
  /** The process group whose CPU time is charged to this target: the proxy, or for `direct` the backend. */
  process: Started;
}

interface Run extends WrkResult {
  /** CPU time the target's processes used per request during the measured run. */
  cpuMicrosPerRequest: number;
}

interface Row {
  target: string;
  requestsPerSec: number;
  p99Ms: number;
  p50Ms: number;
  cpuMicrosPerRequest: number;
  ratioVsNginx: number;
  runs: Run[];
}

const TOOLS = ['taskset', 'wrk', 'nginx', 'haproxy'];

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The project's own installer is idempotent; the bench installs nothing else. */
function ensureTools(): void {
  if (TOOLS.every(onPath)) return;
  process.stdout.write('bench: missing tools, running test/setup/install.sh\n');
  try {
    execFileSync('bash', [join(REPO, 'test', 'setup', 'install.sh')], { stdio: 'inherit' });
  } catch {
    // Reported below with the exact tools still missing.
  }
  const missing = TOOLS.filter((t) => !onPath(t));
  if (missing.length) {
    throw new Error(`bench: ${missing.join(', ')} not installed; run test/setup/install.sh as root (apt packages wrk, nginx-light, haproxy, util-linux)`);
  }
}

/** First line a tool prints about its version, on whichever stream and with whatever exit code it uses. */
function version(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 5000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim();
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function measure(group: ProcessGroup, t: Target, warmupSeconds: number): Promise<Run> {
  const common = ['-t', String(WRK.threads), '-c', String(WRK.connections), '--latency'];
  const bound = (s: number): number => (s + 10) * 1000;
  await group.run(CPU_LOAD, 'wrk', [...common, '-d', `${warmupSeconds}s`, t.url], bound(warmupSeconds));
  const cpuBefore = groupCpuSeconds(t.process.child.pid!);
  const result = parseWrkOutput(await group.run(CPU_LOAD, 'wrk', [...common, '-d', `${WRK.seconds}s`, t.url], bound(WRK.seconds)));
  const cpu = groupCpuSeconds(t.process.child.pid!) - cpuBefore;
  if (t.process.child.exitCode !== null || t.process.child.signalCode !== null) {
    throw new Error(`${t.name} died during its run:\n${t.process.output}`);
  }
  return { ...result, cpuMicrosPerRequest: (cpu * 1e6) / Math.max(1, result.requests) };
}

/** Counts the proxied requests Portier's metrics recorded, or undefined when it serves no metrics. */
async function recordedRequests(metricsPort: number): Promise<number | undefined> {
  try {
    const r = await get(`http://127.0.0.1:${metricsPort}/metrics`);
    if (r.status !== 200) return undefined;
    const lines = r.body.split('\n').filter((l) => /^portier_entrypoint_requests_total\{.*entrypoint="web".*\} /.test(l));
    if (!lines.length) return undefined;
    return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  } catch {
    return undefined;
  }
}

function table(rows: Row[]): string {
  const head = ['target', 'req/s', 'p50 ms', 'p99 ms', 'CPU us/req', 'vs nginx', 'errors'];
  const body = rows.map((r) => {
    const errors = r.runs.reduce((n, w) => n + w.non2xx + w.socketErrors.connect + w.socketErrors.read + w.socketErrors.write + w.socketErrors.timeout, 0);
    return [r.target, r.requestsPerSec.toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), r.cpuMicrosPerRequest.toFixed(0), `${r.ratioVsNginx.toFixed(2)}x`, String(errors)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Starts the backend and every target, each checked to answer the 12-byte body before it is measured. */
async function startTargets(group: ProcessGroup, dir: string): Promise<{ targets: Target[]; metricsPort: number; metricsNote: string }> {
  const [backendPort, nginxPort, haproxyPort, bareProxyPort, relayPort, portierPort, metricsPortierPort, metricsPort] = await Promise.all(Array.from({ length: 8 }, freePort));
  const start = async (name: string, cpu: number, launch: Launch, port: number): Promise<Target> => {
    const url = `http://127.0.0.1:${port}/`;
    const p = group.start(name, cpu, launch.command, launch.args);
    await waitReady(p, url, BODY);
    return { name, url, process: p };
  };
  const targets = [{ ...(await start('backend (nginx)', CPU_LOAD, backendLaunch(dir, backendPort), backendPort)), name: 'direct' }];
  const bare = { command: process.execPath, args: [join(__dirname, 'bare-proxy.js'), String(bareProxyPort), String(backendPort)] };
  targets.push(await start('nginx', CPU_PROXY, nginxProxyLaunch(dir, nginxPort, backendPort), nginxPort));
  targets.push(await start('haproxy', CPU_PROXY, haproxyLaunch(dir, haproxyPort, backendPort), haproxyPort));
  targets.push(await start('http-proxy (bare)', CPU_PROXY, bare, bareProxyPort));
  const relay = { command: process.execPath, args: [join(__dirname, 'node-relay.js'), String(relayPort), String(backendPort)] };
  targets.push(await start(RELAY, CPU_PROXY, relay, relayPort));
  targets.push(await start('portier', CPU_PROXY, portierLaunch(dir, 'portier', portierPort, backendPort), portierPort));
  try {
    const launch = portierLaunch(dir, 'portier-metrics', metricsPortierPort, backendPort, metricsPort);
    const withMetrics = await start('portier+metrics', CPU_PROXY, launch, metricsPortierPort);
    if ((await recordedRequests(metricsPort)) === undefined) return { targets, metricsPort, metricsNote: 'metrics: not available yet' };
    targets.push(withMetrics);
    return { targets, metricsPort, metricsNote: '' };
  } catch (err) {
    return { targets, metricsPort, metricsNote: `metrics: not available yet (${(err as Error).message.split('\n').slice(0, 3).join(' ')})` };
  }
}

interface Summary {
  rows: Row[];
  portierVsNginx: number;
  portierVsNginxByCpu: number;
  /** Portier's requests/s over the byte relay's: how close it is to the fastest any Node proxy can be here. */
  portierVsRelay: number;
  relayVsNginx: number;
  metricsOverhead?: number;
  metricsOverheadByCpu?: number;
}

function summarize(targets: Target[], runs: Map<string, Run[]>): Summary {
  const nginxRps = median(runs.get('nginx')!.map((r) => r.requestsPerSec));
  const rows: Row[] = targets.map((t) => {
    const rs = runs.get(t.name)!;
    const rps = median(rs.map((r) => r.requestsPerSec));
    return {
      target: t.name, requestsPerSec: rps, p50Ms: median(rs.map((r) => r.latencyMs.p50)), p99Ms: median(rs.map((r) => r.latencyMs.p99)),
      cpuMicrosPerRequest: median(rs.map((r) => r.cpuMicrosPerRequest)), ratioVsNginx: rps / nginxRps, runs: rs,
    };
  });
  const row = (name: string): Row | undefined => rows.find((r) => r.target === name);
  const portier = row('portier')!;
  const withMetrics = row('portier+metrics');
  return {
    rows,
    portierVsNginx: portier.requestsPerSec / nginxRps,
    portierVsNginxByCpu: row('nginx')!.cpuMicrosPerRequest / portier.cpuMicrosPerRequest,
    portierVsRelay: portier.requestsPerSec / row(RELAY)!.requestsPerSec,
    relayVsNginx: row(RELAY)!.requestsPerSec / nginxRps,
    metricsOverhead: withMetrics && 1 - withMetrics.requestsPerSec / portier.requestsPerSec,
    // The same cost seen as CPU: the share of throughput lost if the proxy's core were the only limit.
    metricsOverheadByCpu: withMetrics && 1 - portier.cpuMicrosPerRequest / withMetrics.cpuMicrosPerRequest,
  };
}

function printSummary(s: Summary, metricsNote: string): void {
  process.stdout.write(`\n${table(s.rows)}\n\n`);
  const below = s.portierVsNginx >= TARGETS.ratio ? '' : '  BELOW TARGET';
  process.stdout.write(`Portier / nginx: ${s.portierVsNginx.toFixed(2)}x req/s (target >= ${TARGETS.ratio})${below}; by CPU per request: ${s.portierVsNginxByCpu.toFixed(2)}x\n`);
  process.stdout.write(`Node ceiling: the byte relay reaches ${s.relayVsNginx.toFixed(2)}x nginx; Portier is ${s.portierVsRelay.toFixed(2)}x of it\n`);
  if (s.metricsOverhead === undefined || s.metricsOverheadByCpu === undefined) {
    process.stdout.write(`${metricsNote}\n`);
    return;
  }
  const above = s.metricsOverhead < TARGETS.metricsOverhead ? '' : '  ABOVE TARGET';
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  process.stdout.write(`metrics overhead: ${pct(s.metricsOverhead)} of req/s (target < ${pct(TARGETS.metricsOverhead)})${above}; by CPU per request: ${pct(s.metricsOverheadByCpu)}\n`);
}

function writeReport(s: Summary, metricsNote: string): string {
  const artifacts = join(REPO, 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, nginx: version('nginx', ['-v']), haproxy: version('haproxy', ['-v']), wrk: version('wrk', ['-v']) },
    method: {
      wrk: `wrk -t${WRK.threads} -c${WRK.connections} -d${WRK.seconds}s --latency`,
      warmupSeconds: WRK.warmupSeconds,
      rounds: ROUNDS,
      aggregate: 'median over rounds',
      pinning: { wrk: CPU_LOAD, backend: CPU_LOAD, proxyUnderTest: CPU_PROXY },
      backend: `nginx, 1 worker, return 200 with a ${Buffer.byteLength(BODY)}-byte body`,
    },
    ...s,
    metricsOverhead: s.metricsOverhead ?? null,
    metricsOverheadByCpu: s.metricsOverheadByCpu ?? null,
    notes: metricsNote ? [metricsNote] : [],
  };
  const file = join(artifacts, 'bench.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

async function main(group: ProcessGroup, dir: string): Promise<number> {
  ensureTools();
  if (os.cpus().length < 2) process.stdout.write('bench: fewer than 2 CPUs: proxies and wrk share a core, figures are not comparable to docs/benchmarks.md\n');
  try {
    const { targets, metricsPort, metricsNote } = await startTargets(group, dir);
    const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const r = await measure(group, t, WRK.warmupSeconds[round] ?? 1);
        runs.get(t.name)!.push(r);
        process.stdout.write(`  round ${round + 1}  ${t.name.padEnd(20)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  p99 ${r.latencyMs.p99.toFixed(2).padStart(7)} ms  ${r.cpuMicrosPerRequest.toFixed(0).padStart(4)} us CPU/req\n`);
      }
    }
    if (runs.has('portier+metrics') && !(Number(await recordedRequests(metricsPort)) > 0)) {
      throw new Error('portier+metrics: the proxied requests are missing from /metrics: the row would not measure recording');
    }
    const summary = summarize(targets, runs);
    printSummary(summary, metricsNote);
    process.stdout.write(`results: ${writeReport(summary, metricsNote)}\n`);
    return 0;
  } finally {
    await group.stopAll();
  }
}

const group = new ProcessGroup();
const dir = mkdtempSync(join(os.tmpdir(), 'portier-bench-'));
process.on('exit', () => {
  group.killAllNow();
  rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stdout.write(`\nbench: ${signal}, stopping every process it started\n`);
    group.stopAll().finally(() => process.exit(130));
  });
}
main(group, dir).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    group.stopAll().finally(() => process.exit(1));
  },
);
