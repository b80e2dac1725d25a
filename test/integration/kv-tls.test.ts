import t, { type Test } from 'tap';
import { makeTlsFiles, requireStore, startEtcd, startRedis, type Store, type TlsFiles } from '../helpers/kv-stores';
import { startEchoBackend } from '../helpers/echo';
import { routeKeys, startKvGateway } from './kv-fixtures';

/**
 * `tls` of the etcd and Redis providers against stores that require TLS and
 * a client certificate signed by a test CA (made with openssl): with `ca`,
 * `cert` and `key` the routes are read; without the client certificate the
 * store refuses the connection and nothing from it is served.
 */
const stores: { name: 'etcd' | 'redis'; start: (tt: Test, tls: TlsFiles) => Promise<Store> }[] = [
  { name: 'etcd', start: (tt, tls) => startEtcd(tt, { tls }) },
  { name: 'redis', start: (tt, tls) => startRedis(tt, { tls }) },
];

for (const store of stores) {
  t.test(`${store.name} over TLS with a client certificate`, async (t) => {
    if (!requireStore(t, store.name)) return;
    const files = await makeTlsFiles(t);
    const kv = await store.start(t, files);
    const a = await startEchoBackend('a');
    t.teardown(() => a.close());
    for (const [k, v] of routeKeys('traefik', 'secure', a.url)) await kv.put(k, v);
    const rows: { name: string; tls: string; want: string }[] = [
      { name: 'ca, cert and key', tls: `ca: ${files.ca}\n      cert: ${files.clientCert}\n      key: ${files.clientKey}`, want: 'a' },
      { name: 'no client certificate', tls: `ca: ${files.ca}`, want: '404' },
    ];
    for (const row of rows) {
      const gw = await startKvGateway(t, `  ${store.name}:\n    endpoints: ["${kv.endpoint}"]\n    tls:\n      ${row.tls}`);
      t.equal(await gw.reach('secure.localhost'), row.want, `${row.name}: ${row.want}`);
      await gw.close();
    }
  });
}
