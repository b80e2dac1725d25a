import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The built CLI (`npm run build`); tests that need it skip with a failure naming it when it is missing. */
export const CLI = path.resolve(__dirname, '../../dist/src/cli.js');

export interface PortierProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** The first match of `re` in the output, waiting up to `ms`; undefined if it exited or the time ran out. */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray | undefined>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/**
 * `portier --config portier.yaml` in its own process, from files written
 * into `dir`; killed (SIGKILL) when the test ends if it is still running.
 */
export function spawnPortier(t: Test, dir: string, files: Record<string, string>, env: NodeJS.ProcessEnv = {}): PortierProcess | undefined {
  t.ok(existsSync(CLI), `${CLI} exists (npm run build)`);
  if (!existsSync(CLI)) return undefined;
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const child = spawn(process.execPath, [CLI, '--config', path.join(dir, 'portier.yaml')], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    output: () => output,
    async waitFor(re, ms) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
        const m = re.exec(output);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 25));
      }
      return re.exec(output) ?? undefined;
    },
    exited,
  };
}
