import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { requireStore } from '../helpers/kv-stores';

/**
 * examples/databases-by-name/stack.yml as it is: the runtime core runs two
 * redis-server processes on their $PORT (with a health check that is not
 * HTTP), their TCP labels route them by name on one port, and redis-cli
 * reaches each through TLS ended by Portier with its local CA.
 */
const STACK = resolve(__dirname, '../../examples/databases-by-name/stack.yml');

function redis(port: number, sni: string, root: string, ...cmd: string[]): Promise<string> {
  return new Promise((res) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--tls', '--sni', sni, '--cacert', root, ...cmd], { timeout: 10_000 }, (err, stdout, stderr) => res(err ? `error: ${stderr || err.message}` : stdout.trim()));
  });
}

t.test('the databases-by-name runtime stack', async (t) => {
  if (!requireStore(t, 'redis')) return;
  const dir = mkdtempSync(join(tmpdir(), 'portier-dbs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': `dataDir: ./data\nentryPoints:\n  db: { address: "127.0.0.1:0" }\nproviders:\n  runtime:\n    stacks: [${STACK}]\n    socket: ${join(dir, 'engine.sock')}\n`,
  });
  const port = portier.gateway.port('db');
  const root = join(dir, 'root.crt');
  writeFileSync(root, portier.tls.localCa()!.rootPem());
  for (const name of ['cache', 'sessions']) {
    const sni = `${name}.dbs.localhost`;
    let answer = '';
    const deadline = Date.now() + 60_000;
    // The replicas start and pass their first health check before they are routed.
    while ((answer = await redis(port, sni, root, 'set', 'who', name)) !== 'OK' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    t.equal(answer, 'OK', `${sni}: routed once healthy`);
  }
  for (const name of ['cache', 'sessions']) t.equal(await redis(port, `${name}.dbs.localhost`, root, 'get', 'who'), name, `${name}: its own server, by name`);
  const routers = portier.gateway.table.tcp!.routers;
  t.same([...routers.keys()].sort(), ['cache@runtime', 'sessions@runtime'], 'two TCP routers from the labels');
  t.notOk([...portier.gateway.table.routers.keys()].some((n) => n.endsWith('@runtime')), 'and no HTTP router for the TCP-only services');
});
