import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { startEtcd, startRedis, requireStore, until, type Store } from '../helpers/kv-stores';
import { startEchoBackend } from '../helpers/echo';
import { startPortierFromFiles } from '../helpers/portier';
import { request } from '../helpers/http';

/**
 * examples/kv-etcd and examples/kv-redis as their README runs them: the
 * store filled by the example's keys.sh, Portier started from the example's
 * portier.yaml (only its ports and the store's address changed), and the
 * route it describes served, /api stripped by its middleware.
 */
const ROOT = resolve(__dirname, '../..');

const examples: { name: 'etcd' | 'redis'; start: (tt: Test) => Promise<Store>; env: (s: Store) => Record<string, string>; endpoint: string }[] = [
  { name: 'etcd', start: (tt) => startEtcd(tt), env: (s) => ({ ETCD_ENDPOINT: s.endpoint }), endpoint: '127.0.0.1:2379' },
  { name: 'redis', start: (tt) => startRedis(tt), env: (s) => ({ REDIS_PORT: String(s.port) }), endpoint: '127.0.0.1:6379' },
];

for (const ex of examples) {
  t.test(`examples/kv-${ex.name}: keys.sh and portier.yaml`, async (t) => {
    if (!requireStore(t, ex.name)) return;
    const store = await ex.start(t);
    const backend = await startEchoBackend('whoami');
    t.teardown(() => backend.close());
    const dir = join(ROOT, 'examples', `kv-${ex.name}`);
    await new Promise<void>((res, rej) =>
      execFile('bash', [join(dir, 'keys.sh')], { env: { ...process.env, ...ex.env(store), BACKEND: backend.url } }, (err, _out, stderr) => (err ? rej(new Error(stderr)) : res())),
    );
    // Its ports made free ones (the API's too), and the store's address the test's.
    const yaml = readFileSync(join(dir, 'portier.yaml'), 'utf8')
      .replace(ex.endpoint, store.endpoint)
      .replace('":8080"', '"127.0.0.1:0"')
      .replace('\nentryPoints:\n', '\nentryPoints:\n  traefik:\n    address: 127.0.0.1:0\n');
    t.not(yaml.indexOf(store.endpoint), -1, 'the example names the store');
    const { portier } = await startPortierFromFiles(t, { 'portier.yaml': yaml });
    const web = `http://127.0.0.1:${portier.gateway.port('web')}`;
    await until('the example route', async () => (await request(`${web}/api/hello`, { host: 'whoami.localhost' })).status === 200);
    t.equal(backend.requests.at(-1)?.url, '/hello', 'served by the backend, /api stripped by the middleware from the keys');
  });
}
