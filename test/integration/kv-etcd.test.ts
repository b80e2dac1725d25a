import t from 'tap';
import { startEtcd, requireStore, until } from '../helpers/kv-stores';
import { startEchoBackend } from '../helpers/echo';
import { routeKeys, startKvGateway } from './kv-fixtures';

/**
 * The etcd provider against a real etcd 3.4: keys written with etcdctl
 * become routes on a running Portier, and their changes and deletions
 * follow through the watch; a broken key disables its router only; a store
 * that goes away leaves the routes serving and changes resume once it is
 * back; several Portiers on one etcd serve the same routes.
 */
if (requireStore(t, 'etcd')) {
  t.test('keys become routes; updates and deletes follow; a bad rule breaks its router only', async (t) => {
    const etcd = await startEtcd(t);
    const [a, b] = [await startEchoBackend('a'), await startEchoBackend('b')];
    t.teardown(() => Promise.all([a.close(), b.close()]));
    for (const [k, v] of routeKeys('traefik', 'shop', a.url)) await etcd.put(k, v);
    const gw = await startKvGateway(t, `  etcd:\n    endpoints: ["${etcd.endpoint}"]`);
    t.equal(await gw.reach('shop.localhost'), 'a', 'the route from the keys serves at start');

    const steps: { name: string; write: () => Promise<void>; host: string; want: string }[] = [
      { name: 'a new router and service', write: async () => { for (const [k, v] of routeKeys('traefik', 'blog', b.url)) await etcd.put(k, v); }, host: 'blog.localhost', want: 'b' },
      { name: 'a changed server URL', write: () => etcd.put('traefik/http/services/shop/loadbalancer/servers/0/url', b.url), host: 'shop.localhost', want: 'b' },
      { name: 'a changed rule', write: () => etcd.put('traefik/http/routers/blog/rule', 'Host(`news.localhost`)'), host: 'news.localhost', want: 'b' },
      { name: 'a deleted router (its keys)', write: async () => { for (const [k] of routeKeys('traefik', 'shop', '').slice(0, 3)) await etcd.del(k); }, host: 'shop.localhost', want: '404' },
    ];
    for (const s of steps) {
      await s.write();
      const ms = await until(s.name, async () => (await gw.reach(s.host)) === s.want);
      t.pass(`${s.name}: ${s.host} → ${s.want} after ${ms} ms`);
    }

    await etcd.put('traefik/http/routers/broken/rule', 'Host(`broken.localhost`');
    await etcd.put('traefik/http/routers/broken/service', 'blog');
    await until('the broken router is reported', async () => (await gw.router('broken@etcd')).status === 'disabled');
    const view = await gw.router('broken@etcd');
    t.ok(view.error?.some((e) => /^traefik\/http\/routers\/broken\/rule: /.test(e)), `the API names the key: ${JSON.stringify(view.error)}`);
    t.equal(await gw.reach('news.localhost'), 'b', 'the other routers keep serving');
    t.equal((await gw.router('blog@etcd')).status, 'enabled', 'and are enabled');
  });

  t.test('etcd stopped: routes keep serving; restarted: changes resume', async (t) => {
    const etcd = await startEtcd(t);
    const [a, b] = [await startEchoBackend('a'), await startEchoBackend('b')];
    t.teardown(() => Promise.all([a.close(), b.close()]));
    for (const [k, v] of routeKeys('traefik', 'app', a.url)) await etcd.put(k, v);
    const gw = await startKvGateway(t, `  etcd:\n    endpoints: ["${etcd.endpoint}"]`);
    t.equal(await gw.reach('app.localhost'), 'a', 'serving before');
    await etcd.stop();
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(await gw.reach('app.localhost'), 'a', 'still serving while etcd is down (across reconnection attempts)');
    await etcd.start();
    await etcd.put('traefik/http/services/app/loadbalancer/servers/0/url', b.url);
    const ms = await until('the change after the restart', async () => (await gw.reach('app.localhost')) === 'b', 20_000);
    t.pass(`a change written after the restart applies (${ms} ms, reconnection backoff included)`);
  });

  t.test('three Portiers on one etcd serve the same route', async (t) => {
    const etcd = await startEtcd(t);
    const a = await startEchoBackend('shared');
    t.teardown(() => a.close());
    const yaml = `  etcd:\n    endpoints: ["${etcd.endpoint}"]\n    rootKey: cluster/edge`;
    const gateways = [await startKvGateway(t, yaml), await startKvGateway(t, yaml), await startKvGateway(t, yaml)];
    for (const [k, v] of routeKeys('cluster/edge', 'api', a.url)) await etcd.put(k, v);
    for (const [i, gw] of gateways.entries()) {
      const ms = await until(`instance ${i + 1}`, async () => (await gw.reach('api.localhost')) === 'shared');
      t.pass(`instance ${i + 1} serves api.localhost (${ms} ms after the last of the four keys was checked)`);
    }
  });

  t.test('authentication: a user that may only read the root key; a wrong password serves nothing', async (t) => {
    const etcd = await startEtcd(t, { reader: { name: 'portier', password: 'read-only' } });
    const a = await startEchoBackend('a');
    t.teardown(() => a.close());
    for (const [k, v] of routeKeys('traefik', 'private', a.url)) await etcd.put(k, v);
    const rows: { password: string; want: string }[] = [
      { password: 'read-only', want: 'a' },
      { password: 'wrong', want: '404' },
    ];
    for (const row of rows) {
      const gw = await startKvGateway(t, `  etcd:\n    endpoints: ["${etcd.endpoint}"]\n    username: portier\n    password: ${row.password}`);
      t.equal(await gw.reach('private.localhost'), row.want, `password ${row.password}: ${row.want}`);
      if (row.want === 'a') {
        // The watch is authenticated too: changes keep arriving.
        await etcd.put('traefik/http/routers/private/rule', 'Host(`private2.localhost`)');
        await until('a change watched as that user', async () => (await gw.reach('private2.localhost')) === 'a');
        await etcd.put('traefik/http/routers/private/rule', 'Host(`private.localhost`)');
      }
      await gw.close();
    }
  });

  t.test('a watch event that changes no key below the root causes no reload', async (t) => {
    const etcd = await startEtcd(t);
    const a = await startEchoBackend('a');
    t.teardown(() => a.close());
    for (const [k, v] of routeKeys('traefik', 'same', a.url)) await etcd.put(k, v);
    const gw = await startKvGateway(t, `  etcd:\n    endpoints: ["${etcd.endpoint}"]`);
    const before = gw.reloads();
    // etcd makes a new revision of a key written with its own value: the watch sees it, the configuration does not change.
    await etcd.put('traefik/http/routers/same/service', 'same');
    await etcd.put('traefik-other/http/routers/x/rule', 'Path(`/`)');
    await new Promise((r) => setTimeout(r, 800));
    t.equal(gw.reloads(), before, 'no reload');
    await etcd.put('traefik/http/routers/same/rule', 'Host(`same2.localhost`)');
    await until('the real change', async () => (await gw.reach('same2.localhost')) === 'a');
    t.equal(gw.reloads(), before + 1, 'one reload for the change');
  });
}
