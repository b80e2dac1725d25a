import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { havePostgres, startPostgres } from '../helpers/postgres';
import { requireStore, startRedis } from '../helpers/kv-stores';
import { LocalCa } from '../../src/tls/local-ca';

/**
 * "Databases by name": two real PostgreSQL servers and two real Redis
 * servers behind one Portier port, told apart by the name the client asks
 * for. psql's STARTTLS (sslmode=verify-full) and redis-cli --tls --sni both
 * verify Portier's local-CA certificate for that name; Portier ends TLS and
 * the servers speak plaintext.
 */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000, env: { ...process.env, PGCONNECT_TIMEOUT: '20' } }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout.trim())));
  });
}

t.test('PostgreSQL and Redis by name on one port', async (t) => {
  if (!havePostgres(t) || !requireStore(t, 'redis')) return;
  // A server that ends TLS itself, with a certificate of its own CA: reached by passthrough.
  const ownCa = new LocalCa({ dataDir: mkdtempSync(join(tmpdir(), 'portier-pgca-')) });
  const own = ownCa.issue('db3.test');
  const [db1, db2, db3, r1, r2] = await Promise.all([startPostgres(t, 'db1'), startPostgres(t, 'db2'), startPostgres(t, 'db3', { cert: own.certPem, key: own.keyPem }), startRedis(t), startRedis(t)]);
  await r1.cli('set', 'whoami', 'redis-one');
  await r2.cli('set', 'whoami', 'redis-two');
  const tcp = (name: string, sni: string): string =>
    `    ${name}: { entryPoints: [db], rule: "HostSNI(\`${sni}\`)", service: ${name}, tls: { certResolver: local } }\n`;
  const svc = (name: string, port: number): string => `    ${name}: { loadBalancer: { servers: [{ address: "127.0.0.1:${port}" }] } }\n`;
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': 'dataDir: ./data\nentryPoints:\n  db: { address: "127.0.0.1:0" }\nproviders:\n  file: { filename: dynamic.yaml }\n',
    'dynamic.yaml': `tcp:\n  routers:\n${tcp('db1', 'db1.test')}${tcp('db2', 'db2.test')}${tcp('r1', 'r1.test')}${tcp('r2', 'r2.test')}`
      + '    db3: { entryPoints: [db], rule: "HostSNI(`db3.test`)", service: db3, tls: { passthrough: true } }\n'
      + `  services:\n${svc('db1', db1.port)}${svc('db2', db2.port)}${svc('db3', db3.port)}${svc('r1', r1.port)}${svc('r2', r2.port)}`,
  });
  const port = portier.gateway.port('db');
  const dir = mkdtempSync(join(tmpdir(), 'portier-root-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root.crt');
  writeFileSync(root, portier.tls.localCa()!.rootPem());
  const ownRoot = join(dir, 'own.crt');
  writeFileSync(ownRoot, ownCa.rootPem());

  const cases = [
    { what: 'psql db1.test', cmd: 'psql', args: [`host=db1.test hostaddr=127.0.0.1 port=${port} user=portier dbname=postgres sslmode=verify-full sslrootcert=${root}`, '-Atc', 'show cluster_name'], want: 'db1' },
    { what: 'psql db2.test', cmd: 'psql', args: [`host=db2.test hostaddr=127.0.0.1 port=${port} user=portier dbname=postgres sslmode=verify-full sslrootcert=${root}`, '-Atc', 'show cluster_name'], want: 'db2' },
    { what: 'psql db3.test (passthrough: the server\'s own certificate)', cmd: 'psql', args: [`host=db3.test hostaddr=127.0.0.1 port=${port} user=portier dbname=postgres sslmode=verify-full sslrootcert=${ownRoot}`, '-Atc', 'select current_setting(\'cluster_name\') || \' \' || ssl from pg_stat_ssl where pid = pg_backend_pid()'], want: 'db3 true' },
    { what: 'redis-cli r1.test', cmd: 'redis-cli', args: ['-h', '127.0.0.1', '-p', String(port), '--tls', '--sni', 'r1.test', '--cacert', root, 'get', 'whoami'], want: 'redis-one' },
    { what: 'redis-cli r2.test', cmd: 'redis-cli', args: ['-h', '127.0.0.1', '-p', String(port), '--tls', '--sni', 'r2.test', '--cacert', root, 'get', 'whoami'], want: 'redis-two' },
  ];
  for (const c of cases) t.equal(await run(c.cmd, c.args), c.want, `${c.what}: reached by name, certificate verified`);

  // A name no router has: psql is told nothing and fails; the servers never see it.
  const other = await run('psql', [`host=db9.test hostaddr=127.0.0.1 port=${port} user=portier dbname=postgres sslmode=require`, '-Atc', 'select 1']).catch((e: Error) => e.message);
  t.match(other, /server closed the connection|SSL SYSCALL|EOF/i, 'an unknown name is closed');
});
