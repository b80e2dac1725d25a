/**
 * Debian's `prometheus` on 127.0.0.1 (a free port, a temporary storage
 * directory), scraping the given targets every second, and a client for
 * its HTTP query API.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/engine/free-port';

const BINARY = '/usr/bin/prometheus';

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  url: string;
  /** An instant query; throws on a PromQL error. */
  query(expr: string): Promise<PromSample[]>;
  /** Polls until `expr` returns at least one sample for which `ok` holds (default: any). */
  waitFor(expr: string, ok?: (s: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  log(): string;
  stop(): Promise<void>;
}

/** Skips the file loudly when prometheus is missing, except under CI=true where that is a failure. */
export function requirePrometheus(t: { fail(msg: string): void; plan(n: number, msg?: string): void }): boolean {
  if (fs.existsSync(BINARY)) return true;
  const why = `${BINARY} is not installed (apt-get install prometheus; test/setup/install.sh does it)`;
  if (process.env.CI === 'true') t.fail(`prometheus required under CI: ${why}`);
  else {
    process.stderr.write(`\n*** SKIPPING Prometheus tests: ${why} ***\n\n`);
    t.plan(0, `skipped: ${why}`);
  }
  return false;
}

export async function startPrometheus(targets: { job: string; address: string; path?: string }[]): Promise<Prometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-prometheus-'));
  const port = await freePort();
  const jobs = targets
    .map((t) => `  - job_name: ${JSON.stringify(t.job)}\n    metrics_path: ${JSON.stringify(t.path ?? '/metrics')}\n    static_configs:\n      - targets: [${JSON.stringify(t.address)}]\n`)
    .join('');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n${jobs}`);
  let output = '';
  const child: ChildProcess = spawn(
    BINARY,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const query = async (expr: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] | [number, string] } };
    if (body.status !== 'success') throw new Error(`PromQL ${expr}: ${body.error}`);
    const r = body.data?.result;
    if (body.data?.resultType === 'scalar' && Array.isArray(r)) return [{ metric: {}, value: r as [number, string] }];
    return (r ?? []) as PromSample[];
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    query,
    async waitFor(expr, ok = (s) => s.length > 0, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      let last: PromSample[] = [];
      while (Date.now() < end) {
        last = await query(expr);
        if (ok(last)) return last;
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error(`timed out waiting for ${expr}; last result ${JSON.stringify(last)}`);
    },
    log: () => output,
    stop,
  };
}
