/**
 * A shared ACME storage over TLS (docs/acme-cluster.md): a Portier process
 * given `rediss://` or `etcds://` with credentials registers in the store
 * when it trusts the store's CA (NODE_EXTRA_CA_CERTS), and one that does
 * not trust it reports the store unreadable on /api/tls/cluster instead.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/pebble';
import { makeTlsFiles, requireStore, until } from '../helpers/kv-stores';
import { TLS_SHARED_ACME_STORES } from '../helpers/shared-acme-stores';
import { spawnPortier } from '../helpers/cli-process';
import { request } from '../helpers/http';

type View = { storage: string; error?: string; instances: { pid: number }[] }[];

for (const store of TLS_SHARED_ACME_STORES) t.test(`a shared ACME storage over TLS: ${store.name}`, async (t) => {
  if (!requireStore(t, store.kind)) return;
  const files = await makeTlsFiles(t);
  const { kv, storage, label } = await store.start(t, files);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-tls-store-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  const start = async (name: string, env: NodeJS.ProcessEnv): Promise<{ pid: number; view: () => Promise<View> } | undefined> => {
    const home = path.join(dir, name);
    fs.mkdirSync(home);
    const [webPort, apiPort] = [await freePort(), await freePort()];
    const child = spawnPortier(t, home, {
      'portier.yaml': `entryPoints:
  web: {address: "127.0.0.1:${webPort}"}
  traefik: {address: "127.0.0.1:${apiPort}"}
api: {}
certificatesResolvers:
  le:
    acme:
      caServer: https://127.0.0.1:9/directory
      storage: ${JSON.stringify(storage('portier/acme', '3s'))}
      httpChallenge: {entryPoint: web}
`,
    }, env);
    if (!child) return undefined;
    t.teardown(() => {
      if (!t.passing()) t.comment(child.output());
    });
    return { pid: child.child.pid!, view: async () => JSON.parse((await request(`http://127.0.0.1:${apiPort}/api/tls/cluster`)).body) as View };
  };

  const trusting = await start('trusting', { NODE_EXTRA_CA_CERTS: files.ca });
  const doubting = await start('doubting', { NODE_EXTRA_CA_CERTS: '' });
  if (!trusting || !doubting) return;
  await until('the trusting instance is registered in the store', async () => (await kv.keys('portier/acme/instances/')).some((k) => k.includes(`-${trusting.pid}-`)), 15_000);
  let seen: View = [];
  await until('it lists itself on /api/tls/cluster', async () => Boolean((seen = await trusting.view())[0]?.instances.some((i) => i.pid === trusting.pid)), 10_000);
  t.equal(seen[0].storage, label('portier/acme'), 'named without its credentials');
  t.notOk(seen[0].error, 'read without an error');
  await until('the instance without the CA reports the store unreadable', async () => Boolean((seen = await doubting.view())[0]?.error && seen[0].error !== 'not read yet'), 10_000);
  t.same(seen[0].instances, [], 'and lists no instance');
  t.notOk((await kv.keys('portier/acme/instances/')).some((k) => k.includes(`-${doubting.pid}-`)), 'it never registered');
});
