import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { H2LOAD, H2Target, h2Rows } from './h2-row';
import { BODY, makeCertificate, nginxProxyLaunch, backendLaunch, portierLaunch } from './peers';
import { ProcessGroup, freePort, waitReady } from './processes';

/**
 * The HTTP/2 row alone, for comparing builds while working on the h2 front
 * end: `node dist/test/bench/h2-ab.js [CLI.js …]` measures nginx (`http2`)
 * and Portier started from each given `cli.js` (this build's without any),
 * alternating in the same run, as `npm run bench` measures its h2 row.
 * `H2_AB_NODE_FLAGS` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to
 * every Portier process, `H2_AB_ROUNDS` sets the rounds (the bench's 3
 * without). Pinning as the bench: load and backend on CPU 0, the proxies
 * on CPU 1.
 */
async function main(group: ProcessGroup, dir: string): Promise<void> {
  if (process.env.H2_AB_ROUNDS) H2LOAD.rounds = Number(process.env.H2_AB_ROUNDS);
  const clis = process.argv.slice(2).map((p) => resolve(p));
  if (!clis.length) clis.push(join(__dirname, '..', '..', 'src', 'cli.js'));
  const cert = makeCertificate(dir);
  const backendPort = await freePort();
  const backend = backendLaunch(dir, backendPort);
  const be = group.start('backend', 0, backend.command, backend.args);
  await waitReady(be, `http://127.0.0.1:${backendPort}/`, BODY);
  const targets: H2Target[] = [];
  const nginxPort = await freePort();
  const nl = nginxProxyLaunch(dir, 'nginx-h2', nginxPort, backendPort, { tls: cert, http2: true });
  const nginx = group.start('nginx h2', 1, nl.command, nl.args);
  targets.push({ name: 'nginx h2', url: `https://127.0.0.1:${nginxPort}/`, process: nginx });
  const flags = (process.env.H2_AB_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  for (const [i, cli] of clis.entries()) {
    const port = await freePort();
    const launch = portierLaunch(dir, `portier-${i}`, port, backendPort, { tls: cert });
    const p = group.start(`portier ${i}`, 1, launch.command, [...flags, cli, ...launch.args.slice(1)]);
    targets.push({ name: `portier ${i} (${cli.split('/').slice(-4, -2).join('/')})`, url: `https://127.0.0.1:${port}/`, process: p });
  }
  for (const t of targets) await waitReady(t.process, t.url, BODY);
  const rows = await h2Rows(group, 0, targets, (l) => process.stdout.write(`${l}\n`));
  const nginxCpu = rows[0].cpuMicrosPerRequest;
  for (const r of rows) {
    process.stdout.write(`${r.target.padEnd(40)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ${r.cpuMicrosPerRequest.toFixed(1).padStart(6)} us CPU/req  ${(r.requestsPerSec / rows[0].requestsPerSec).toFixed(2)}x req/s  ${(nginxCpu / r.cpuMicrosPerRequest).toFixed(2)}x by CPU  ${r.errors} errors\n`);
  }
}

const group = new ProcessGroup();
const dir = mkdtempSync(join(os.tmpdir(), 'portier-h2ab-'));
process.on('exit', () => {
  group.killAllNow();
  rmSync(dir, { recursive: true, force: true });
});
main(group, dir).then(
  () => group.stopAll().finally(() => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    group.stopAll().finally(() => process.exit(1));
  },
);
