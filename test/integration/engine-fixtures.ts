// Shared helpers of the engine integration tests (not a test file itself).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

export const helloApp = path.resolve(__dirname, '../../examples/stacks/hello-app.js');
export const node = process.execPath;

/** Writes `yaml` as <tmp>/<dir>/stack.yml; the directory goes away at teardown. */
export function stackFile(t: { teardown(fn: () => void): void }, yaml: string, dir = 'proj'): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'portier-engine-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const file = path.join(root, dir, 'stack.yml');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, yaml);
  return file;
}

/** Polls `cond` until it returns a truthy value or the time is up. */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function get(port: number, urlPath = '/', headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A process that exists and is not a zombie waiting for its (re)parent to reap it. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
