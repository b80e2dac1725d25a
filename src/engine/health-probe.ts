import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { killGroup } from './process-group';
import type { HealthTest } from './stack';

export interface ProbeResult {
  exitCode: number;
  output: string;
}

export interface ProbeTarget {
  port: number;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Docker keeps at most this much of a probe's output. */
const MAX_OUTPUT = 4096;

/**
 * Runs one health probe. Exit code 0 is healthy, like Docker's; an HTTP probe
 * is healthy on a 2xx or 3xx answer from the replica's own port. A probe that
 * outlives its timeout is killed with its whole process group.
 */
export function probe(test: HealthTest, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return test.kind === 'http' ? probeHttp(test.path, target.port, timeoutMs) : probeCommand(test, target, timeoutMs);
}

function probeHttp(path: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ exitCode: status >= 200 && status < 400 ? 0 : 1, output: `GET ${path}: HTTP ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs}ms`)));
    req.on('error', (err) => resolve({ exitCode: 1, output: `GET ${path}: ${err.message}` }));
  });
}

function probeCommand(test: Exclude<HealthTest, { kind: 'http' }>, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const [cmd, args] = test.kind === 'shell' ? ['/bin/sh', ['-c', test.script]] : [test.argv[0], test.argv.slice(1)];
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    const child = spawn(cmd, args, { cwd: target.cwd, env: target.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer): void => {
      if (output.length < MAX_OUTPUT) output = (output + d.toString()).slice(0, MAX_OUTPUT);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ exitCode: -1, output: `cannot run health check: ${err.message}` });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      killGroup(child.pid, 'SIGKILL');
      if (timedOut) resolve({ exitCode: -1, output: `Health check exceeded timeout (${timeoutMs}ms)` });
      else resolve({ exitCode: code ?? -1, output });
    });
  });
}
