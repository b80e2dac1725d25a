import { ProcessGroup, Started, freePort, groupCpuSeconds, waitReady } from './processes';
import { BODY, Certificate, nginxProxyLaunch } from './peers';

/**
 * The HTTP/2 row of `npm run bench`: h2load (Debian's nghttp2-client)
 * against Portier and nginx (`listen … ssl http2`), both over TLS 1.3 with
 * the bench's certificate, in the same run, alternating; CPU per request
 * from each proxy's process group as for the wrk scenarios.
 */

/**
 * Few connections with several streams each (what HTTP/2 is for), 50 requests in flight as wrk's 50
 * connections: more would outgrow the upstream pool's 64 idle connections and measure reconnects.
 * Bounded: a few seconds per side and round.
 */
export const H2LOAD = { threads: 1, connections: 10, streams: 5, seconds: 3, warmupSeconds: 1, rounds: 3 };

export interface H2loadResult {
  requestsPerSec: number;
  /** Requests completed in the measured window. */
  requests: number;
  failed: number;
  errored: number;
  non2xx: number;
  /** What ALPN chose ("h2"); anything else means the row did not measure HTTP/2. */
  protocol: string;
}

/** Reads h2load's summary ("finished in …, N req/s", "requests: …", "status codes: …", "Application protocol: h2"). */
export function parseH2load(out: string): H2loadResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`h2load output without ${re}:\n${out.slice(0, 2000)}`);
    return Number(m[1]);
  };
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  return {
    requestsPerSec: num(/finished in [\d.]+\w*, ([\d.]+) req\/s/),
    requests: num(/requests: \d+ total, \d+ started, (\d+) done/),
    failed: num(/requests: .* (\d+) failed/),
    errored: num(/requests: .* (\d+) errored/),
    non2xx: status ? Number(status[2]) + Number(status[3]) + Number(status[4]) : 0,
    protocol: /Application protocol: (\S+)/.exec(out)?.[1] ?? 'none',
  };
}

export interface H2Target {
  name: string;
  url: string;
  process: Started;
}

export interface H2Run extends H2loadResult {
  cpuMicrosPerRequest: number;
}

/** One warm-up and one measured h2load run against `t`, h2load pinned to `cpu`. */
export async function measureH2(group: ProcessGroup, cpu: number, t: H2Target): Promise<H2Run> {
  const args = (seconds: number): string[] => ['-t', String(H2LOAD.threads), '-c', String(H2LOAD.connections), '-m', String(H2LOAD.streams), '-D', String(seconds), t.url];
  const bound = (s: number): number => (s + 15) * 1000;
  await group.run(cpu, 'h2load', args(H2LOAD.warmupSeconds), bound(H2LOAD.warmupSeconds));
  const before = groupCpuSeconds(t.process.child.pid!);
  const result = parseH2load(await group.run(cpu, 'h2load', args(H2LOAD.seconds), bound(H2LOAD.seconds)));
  const used = groupCpuSeconds(t.process.child.pid!) - before;
  if (result.protocol !== 'h2') throw new Error(`${t.name}: h2load negotiated ${result.protocol}, not h2`);
  return { ...result, cpuMicrosPerRequest: (used * 1e6) / Math.max(1, result.requests) };
}

export interface H2Row {
  target: string;
  requestsPerSec: number;
  cpuMicrosPerRequest: number;
  errors: number;
  runs: H2Run[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Every target once per round, alternating, then the median of the rounds. */
export async function h2Rows(group: ProcessGroup, cpu: number, targets: H2Target[], log: (line: string) => void): Promise<H2Row[]> {
  const runs = new Map<string, H2Run[]>(targets.map((t) => [t.name, []]));
  for (let round = 0; round < H2LOAD.rounds; round++) {
    for (const t of targets) {
      const r = await measureH2(group, cpu, t);
      runs.get(t.name)!.push(r);
      const errors = r.failed + r.errored + r.non2xx;
      log(`  round ${round + 1}  ${t.name.padEnd(24)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ${r.cpuMicrosPerRequest.toFixed(1).padStart(6)} us CPU/req${errors ? `  ${errors} errors` : ''}`);
    }
  }
  return targets.map((t) => {
    const rs = runs.get(t.name)!;
    return {
      target: t.name,
      requestsPerSec: median(rs.map((r) => r.requestsPerSec)),
      cpuMicrosPerRequest: median(rs.map((r) => r.cpuMicrosPerRequest)),
      errors: rs.reduce((n, r) => n + r.failed + r.errored + r.non2xx, 0),
      runs: rs,
    };
  });
}

export interface Http2Summary {
  rows: (H2Row & { ratioVsNginx: number; ratioVsNginxByCpu: number })[];
  portierVsNginx: number;
  portierVsNginxByCpu: number;
  valid: boolean;
}

/**
 * The HTTP/2 row: h2load against nginx with `http2` on a listener of its
 * own (same certificate, TLS 1.3, same backend), pinned to `cpuProxy`, and
 * against `portier`, the scenario-3 process, which offers h2 by ALPN on
 * the same port; h2load on `cpuLoad`.
 */
export async function http2Scenario(
  group: ProcessGroup,
  o: { dir: string; cert: Certificate; backendPort: number; cpuLoad: number; cpuProxy: number; portier: H2Target },
): Promise<Http2Summary> {
  const port = await freePort();
  const launch = nginxProxyLaunch(o.dir, 'nginx-h2', port, o.backendPort, { tls: o.cert, http2: true });
  const nginx = group.start('nginx h2', o.cpuProxy, launch.command, launch.args);
  const url = `https://127.0.0.1:${port}/`;
  await waitReady(nginx, url, BODY);
  process.stdout.write(`HTTP/2: h2load -t${H2LOAD.threads} -c${H2LOAD.connections} -m${H2LOAD.streams} -D${H2LOAD.seconds} (TLS 1.3, ALPN h2)\n`);
  const measured = await h2Rows(group, o.cpuLoad, [{ name: 'nginx h2', url, process: nginx }, o.portier], (l) => process.stdout.write(`${l}\n`));
  const [n, p] = measured;
  const rows = measured.map((r) => ({ ...r, ratioVsNginx: r.requestsPerSec / n.requestsPerSec, ratioVsNginxByCpu: n.cpuMicrosPerRequest / r.cpuMicrosPerRequest }));
  return { rows, portierVsNginx: p.requestsPerSec / n.requestsPerSec, portierVsNginxByCpu: n.cpuMicrosPerRequest / p.cpuMicrosPerRequest, valid: n.errors === 0 && p.errors === 0 };
}
