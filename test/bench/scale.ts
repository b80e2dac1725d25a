import { spawn, execFile, ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDynamicFiles } from '../../providers/file/read';
import type { YamlReuse } from '../../src/config/yaml';
import { compile, newCompileCache } from '../../src/routing/compile';
import { TRANSPORT_DEFAULTS } from '../../src/proxy/transport';
import { middlewareTypes } from '../../src/plugins';
import { silentLogger } from '../../src/log/logger';

/**
 * The scale run: Portier with 1, 1,000 and 10,000 Host routers in one
 * file, each with its own service. For each size: time from spawn to the
 * first request served, the latency of one changed router (file rename →
 * the new backend answers), the file provider's own read of that file,
 * RSS after start and across the changes, and requests/s on one host.
 */

export interface ScaleRow {
  routers: number;
  firstServeMs: number;
  /** The file provider's re-read of the file after one router changed. */
  fileReadMs: number;
  /** Compiling the table after one router changed, in this process: what follows the provider's report. */
  compileMs: number;
  changeMs: { median: number; max: number };
  rssMb: { start: number; afterChanges: number };
  requestsPerSec: number;
}

export interface ScaleOptions {
  sizes: number[];
  changes: number;
  /** Seconds of load for requests/s (wrk when given, else a node loop). */
  loadSeconds: number;
  wrk?: (port: number, host: string, seconds: number) => Promise<number>;
  /** Extra node arguments for Portier (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

const CLI = join(__dirname, '..', '..', 'src', 'cli.js');

export function routesYaml(n: number, changed: { index: number; port: number } | undefined, backends: [number, number]): string {
  const lines = ['http:', '  routers:'];
  for (let i = 0; i < n; i++) lines.push(`    r${i}:`, `      rule: "Host(\`h${i}.scale.test\`)"`, `      service: s${i}`);
  lines.push('  services:');
  for (let i = 0; i < n; i++) {
    const port = changed?.index === i ? changed.port : backends[0];
    lines.push(`    s${i}:`, '      loadBalancer:', '        servers:', `          - url: "http://127.0.0.1:${port}"`);
  }
  return `${lines.join('\n')}\n`;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

function backend(tag: string): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((_req, res) => res.end(tag));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, server })));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}

/** Polls until `host` answers `body`, every `everyMs`, at most `limitMs`: the time it took, or throws. */
async function until(port: number, host: string, body: string, everyMs: number, limitMs: number, since = performance.now()): Promise<number> {
  while (performance.now() - since < limitMs) {
    const r = await get(port, host);
    if (r.status === 200 && r.body === body) return performance.now() - since;
    await new Promise((res) => setTimeout(res, everyMs));
  }
  throw new Error(`${host} did not answer ${JSON.stringify(body)} within ${limitMs} ms`);
}

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
};

/** wrk on one host, when installed: the node loop below measures its own client as much as Portier. */
export function wrkLoad(port: number, host: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('wrk', ['-t1', '-c50', `-d${seconds}s`, '-H', `Host: ${host}`, `http://127.0.0.1:${port}/`], { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      if (err || !m) reject(new Error(`wrk failed: ${err?.message ?? stdout}`));
      else resolve(Number(m[1]));
    });
  });
}

async function nodeLoad(port: number, host: string, seconds: number): Promise<number> {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (performance.now() < end) if ((await get(port, host)).status === 200) done++;
  }));
  return done / seconds;
}

/** The gateway's compile of one changed snapshot, timed here with the same code and options as a one-entrypoint Portier. */
/** One router changed, in this process as the file provider and the gateway do it: the file re-read (its pieces kept, yaml.ts), then the compile. */
function oneChange(dir: string, n: number, backends: { a: number; b: number }): { readMs: number; compileMs: number } {
  const file = join(dir, `compile-${n}.yaml`);
  const reuse = new Map<string, YamlReuse>();
  const read = () => {
    const r = readDynamicFiles({ filename: file }, reuse);
    return [{ provider: 'file', config: r.config, warnings: r.warnings, errors: r.objectErrors }];
  };
  const opts = {
    entryPoints: { web: { tls: false, endsTls: false, asDefault: true, middlewares: [] } }, defaultRuleSyntax: 'v3' as const,
    transport: TRANSPORT_DEFAULTS, middlewareTypes, log: silentLogger, onHealthChange: () => undefined,
  };
  const cache = newCompileCache();
  writeFileSync(file, routesYaml(n, undefined, [backends.a, backends.a]));
  compile(read(), opts, cache);
  writeFileSync(file, routesYaml(n, { index: Math.floor(n / 2), port: backends.b }, [backends.a, backends.a]));
  const t0 = performance.now();
  const changed = read();
  const t1 = performance.now();
  compile(changed, opts, cache);
  const compileMs = performance.now() - t1;
  for (const { lb } of cache.balancers.values()) lb.close(true);
  return { readMs: t1 - t0, compileMs };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function one(n: number, o: ScaleOptions, dir: string, backends: { a: number; b: number }): Promise<ScaleRow> {
  const port = await freePort();
  const routes = join(dir, `routes-${n}.yaml`);
  writeFileSync(routes, routesYaml(n, undefined, [backends.a, backends.a]));
  const config = join(dir, `portier-${n}.yaml`);
  writeFileSync(config, `entryPoints:\n  web:\n    address: "127.0.0.1:${port}"\nproviders:\n  providersThrottleDuration: 10ms\n  file:\n    filename: ${JSON.stringify(routes)}\n    watch: true\nlog:\n  level: warn\n`);
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...(o.nodeArgs ?? []), CLI, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], cwd: dir });
  try {
    const last = n - 1;
    const firstServeMs = await until(port, `h${last}.scale.test`, 'a', 20, 120_000, started);
    const rssStart = rssMb(child.pid!);
    const { readMs: fileReadMs, compileMs } = oneChange(dir, n, backends);
    const times: number[] = [];
    const index = Math.floor(n / 2);
    for (let i = 0; i < o.changes; i++) {
      const want = i % 2 === 0 ? 'b' : 'a';
      const tmp = `${routes}.tmp`;
      writeFileSync(tmp, routesYaml(n, { index, port: want === 'b' ? backends.b : backends.a }, [backends.a, backends.a]));
      const since = performance.now();
      renameSync(tmp, routes);
      times.push(await until(port, `h${index}.scale.test`, want, 2, 60_000, since));
    }
    const rssAfter = rssMb(child.pid!);
    const requestsPerSec = await (o.wrk ?? nodeLoad)(port, `h${last}.scale.test`, o.loadSeconds);
    return { routers: n, firstServeMs, fileReadMs, compileMs, changeMs: { median: median(times), max: Math.max(...times) }, rssMb: { start: rssStart, afterChanges: rssAfter }, requestsPerSec };
  } finally {
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export async function scaleRun(o: ScaleOptions): Promise<ScaleRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'portier-scale-'));
  const a = await backend('a');
  const b = await backend('b');
  try {
    const rows: ScaleRow[] = [];
    for (const n of o.sizes) rows.push(await one(n, o, dir, { a: a.port, b: b.port }));
    return rows;
  } finally {
    agent.destroy();
    a.server.close();
    b.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function scaleTable(rows: ScaleRow[]): string {
  const head = ['routers', 'first serve', 'file re-read after one change', 'compile after one change', 'one change, file saved → served (median / max)', 'RSS start → after changes', 'req/s'];
  const body = rows.map((r) => [
    String(r.routers), `${r.firstServeMs.toFixed(0)} ms`, `${r.fileReadMs.toFixed(0)} ms`, `${r.compileMs.toFixed(0)} ms`,
    `${r.changeMs.median.toFixed(0)} / ${r.changeMs.max.toFixed(0)} ms`, `${r.rssMb.start} → ${r.rssMb.afterChanges} MB`, r.requestsPerSec.toFixed(0),
  ]);
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
}

if (require.main === module) {
  const sizes = (process.env.SCALE_SIZES ?? '1,1000,10000').split(',').map(Number);
  const changes = Number(process.env.SCALE_CHANGES ?? 10);
  const nodeArgs = process.env.SCALE_NODE_ARGS ? process.env.SCALE_NODE_ARGS.split(' ') : [];
  scaleRun({ sizes, changes, loadSeconds: 4, nodeArgs, wrk: process.env.SCALE_NO_WRK ? undefined : wrkLoad }).then(
    (rows) => process.stdout.write(`${scaleTable(rows)}\n`),
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
