import t from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawnPortier } from '../helpers/cli-process';
import { startEchoBackend } from '../helpers/echo';

const exec = promisify(execFile);

async function curl(url: string, port: number): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const args = ['-sk', '--max-time', '10', '--resolve', `${u.hostname}:${port}:127.0.0.1`, '-o', '-', '-w', '\n%{http_code}', url];
  const { stdout } = await exec('curl', args, { timeout: 20_000 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '\n0' }));
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

t.test('started as root with user nobody (PORTIER_USER): binds 80 and 443, then runs as nobody, its state directory its own', async (t) => {
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') t.fail('CI runs as root: this test needs it');
    else t.plan(0, 'skipped: needs root');
    return;
  }
  const echo = await startEchoBackend('dropped');
  t.teardown(() => echo.close());
  const dir = mkdtempSync(path.join(tmpdir(), 'portier-drop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The files Portier reads after giving up root must be readable by nobody.
  chmodSync(dir, 0o755);
  const state = path.join(dir, 'state');
  const run = spawnPortier(t, dir, {
    'portier.yaml': [
      'entryPoints:',
      '  web: { address: "127.0.0.1:80" }',
      '  websecure: { address: "127.0.0.1:443" }',
      'providers:',
      '  file: { filename: ./dynamic.yaml }',
      `dataDir: ${JSON.stringify(state)}`,
    ].join('\n'),
    'dynamic.yaml': `http:\n  routers:\n    app: { rule: "Host(\`app.localhost\`)", service: app }\n  services:\n    app: { loadBalancer: { servers: [{ url: "${echo.url}" }] } }\n`,
  }, { PORTIER_USER: 'nobody' });
  if (!run) return;
  t.ok(await run.waitFor(/Portier is serving/, 30_000), `serves: ${run.output()}`);
  t.match(run.output(), /root given up once the ports were bound.*user=nobody|"user":"nobody"/, 'says so');
  const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(readFileSync(`/proc/${run.child.pid}/status`, 'utf8'));
  t.same(uids?.slice(1).map(Number), [65534, 65534, 65534, 65534], 'real, effective, saved and file-system uid are nobody');
  const cases = [
    { url: 'http://app.localhost/', port: 80 },
    { url: 'https://app.localhost/', port: 443 },
  ];
  for (const c of cases) {
    const r = await curl(c.url, c.port);
    t.equal(r.status, 200, `${c.url} is served after the drop`);
    t.match(r.body, /"name":"dropped"/);
  }
  const st = statSync(state);
  t.equal(st.uid, 65534, 'the state directory belongs to nobody');
  t.equal(st.mode & 0o777, 0o700, 'and only nobody reads it');
  run.child.kill('SIGTERM');
  t.equal((await run.exited).code, 0, 'stops cleanly as nobody');
});
