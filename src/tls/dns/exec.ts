/**
 * `exec`: a program of the user's publishes and removes the record, called
 * as lego calls it: `EXEC_PATH present|cleanup <fqdn> <value>`, or with
 * `EXEC_MODE=RAW` `EXEC_PATH present|cleanup -- <domain> <token> <keyAuth>`.
 * A non-zero exit fails the challenge with the program's last output lines.
 */
import { execFile } from 'node:child_process';
import { ChallengeRecord, DnsProvider, DnsProviderFactory, envSeconds, envValue, requiredEnv } from './provider';

const OUTPUT_LINES = 5;

export const exec: DnsProviderFactory = (env) => {
  const program = requiredEnv(env, 'EXEC_PATH');
  const mode = envValue(env, 'EXEC_MODE');
  if (mode !== undefined && mode !== 'RAW') throw new Error(`EXEC_MODE: expected RAW or nothing, got ${JSON.stringify(mode)}`);
  // lego sets no bound; a program that hangs would hold an order slot for good.
  const timeoutMs = 120_000;
  const run = (action: string, r: ChallengeRecord): Promise<void> => {
    const args = mode === 'RAW' ? [action, '--', r.domain, r.token, r.keyAuth] : [action, r.fqdn, r.value];
    return new Promise((resolve, reject) => {
      execFile(program, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve();
        const tail = `${stdout}${stderr}`.trim().split('\n').slice(-OUTPUT_LINES).join(' | ');
        const how = err.killed ? `was stopped after ${timeoutMs / 1000} s` : typeof err.code === 'number' ? `exited with status ${err.code}` : err.message;
        reject(new Error(`EXEC_PATH ${program} ${action} ${how}${tail ? `: ${tail}` : ''}`));
      });
    });
  };
  const provider: DnsProvider = {
    propagationTimeoutMs: envSeconds(env, 'EXEC_PROPAGATION_TIMEOUT', 60),
    pollingIntervalMs: envSeconds(env, 'EXEC_POLLING_INTERVAL', 2),
    present: (r) => run('present', r),
    cleanup: (r) => run('cleanup', r),
  };
  return provider;
};
