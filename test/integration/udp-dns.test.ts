import t, { type Test } from 'tap';
import { spawn, spawnSync, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { freeUdpPort } from '../helpers/udp';

const EXAMPLE = resolve(__dirname, '../../examples/udp-dns');
const missing = ['named', 'dig'].filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
if (missing.length && process.env.CI !== 'true') {
  t.comment(`NOTICE: ${missing.join(', ')} not installed (apt-get install bind9 bind9-dnsutils): DNS through a UDP router not tested`);
  t.pass('skipped without BIND');
} else {
  t.test('dig through a UDP router reaches BIND (examples/udp-dns)', run);
}

function dig(port: number, name: string, type: string): Promise<string> {
  return new Promise((done) => {
    execFile('dig', ['+short', '+tries=1', '+time=3', '@127.0.0.1', '-p', String(port), name, type], { timeout: 10_000 }, (err, stdout) => done(err ? `error: ${stdout}` : stdout.trim()));
  });
}

async function run(t: Test): Promise<void> {
  // Free now; BIND binds them a moment later (nothing else on the machine picks ports in this range by itself).
  const ports = [await freeUdpPort(), await freeUdpPort()];
  const dir = mkdtempSync(join(tmpdir(), 'portier-named-'));
  const named = spawn('bash', [join(EXAMPLE, 'run-named.sh')], { env: { ...process.env, NAMED_PORTS: ports.join(' '), NAMED_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  named.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise((r) => named.once('exit', r));
  t.teardown(async () => {
    named.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 60 && (await dig(ports[1], 'www.example.test', 'A')) !== '127.0.0.80'; i++) await new Promise((r) => setTimeout(r, 250));
  t.equal(await dig(ports[0], 'www.example.test', 'A'), '127.0.0.80', `BIND answers directly (${log.split('\n').slice(-3).join(' | ')})`);

  const portierYaml = readFileSync(join(EXAMPLE, 'portier.yaml'), 'utf8').replace('127.0.0.1:8080', '127.0.0.1:0').replace('127.0.0.1:5353/udp', '127.0.0.1:0/udp');
  const dynamic = readFileSync(join(EXAMPLE, 'dynamic.yaml'), 'utf8').replace('5301', String(ports[0])).replace('5302', String(ports[1]));
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic });
  const port = portier.gateway.port('dns');

  // Each dig has its own source port: a session each, round robin over the two listeners.
  const cases: [string, string, string][] = [
    ['www.example.test', 'A', '127.0.0.80'],
    ['www.example.test', 'TXT', '"served through Portier"'],
    ['ns.example.test', 'A', '127.0.0.1'],
    ['www.example.test', 'A', '127.0.0.80'],
  ];
  for (const [name, type, want] of cases) t.equal(await dig(port, name, type), want, `${name} ${type} through Portier`);
  const router = portier.gateway.table.udp.routers.get('dns@file');
  t.equal(router?.counters.sessions, cases.length, 'one session per dig');
  t.equal(router?.counters.datagramsOut, cases.length, 'one answer per query');
}
