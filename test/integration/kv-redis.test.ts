import t, { type Test } from 'tap';
import { startRedis, startSentinel, requireStore, until, type RedisStore } from '../helpers/kv-stores';
import { startEchoBackend } from '../helpers/echo';
import { routeKeys, startKvGateway, type KvGateway } from './kv-fixtures';

/**
 * The Redis provider against a real Redis 7: keys written with redis-cli
 * become routes on a running Portier, with keyspace notifications when
 * Redis sends them and by periodic listing when it does not (off, as by
 * default and on managed Redis, or CONFIG refused); a broken key disables
 * its router only; a Redis that goes away leaves the routes serving and
 * changes resume once it is back.
 */
const provider = (redis: RedisStore, extra = ''): string => `  redis:\n    endpoints: ["${redis.endpoint}"]\n    scanInterval: 500ms${extra}`;

async function steps(t: Test, redis: RedisStore, gw: KvGateway, urls: { a: string; b: string }, within: number): Promise<void> {
  const list: { name: string; write: () => Promise<void>; host: string; want: string }[] = [
    { name: 'a new router and service', write: async () => { for (const [k, v] of routeKeys('traefik', 'blog', urls.b)) await redis.put(k, v); }, host: 'blog.localhost', want: 'b' },
    { name: 'a changed server URL', write: () => redis.put('traefik/http/services/shop/loadbalancer/servers/0/url', urls.b), host: 'shop.localhost', want: 'b' },
    { name: 'a deleted router (its keys)', write: () => redis.cli('del', ...routeKeys('traefik', 'shop', '').slice(0, 3).map(([k]) => k)).then(() => undefined), host: 'shop.localhost', want: '404' },
  ];
  for (const s of list) {
    await s.write();
    const ms = await until(s.name, async () => (await gw.reach(s.host)) === s.want, within);
    t.pass(`${s.name}: ${s.host} → ${s.want} after ${ms} ms`);
  }
}

/** SCAN calls Redis has served so far. */
async function scans(redis: RedisStore): Promise<number> {
  const m = /cmdstat_scan:calls=(\d+)/.exec(await redis.cli('info', 'commandstats'));
  return m ? Number(m[1]) : 0;
}

if (requireStore(t, 'redis')) {
  // `scanning`: whether Redis sees SCAN calls while the steps run (its own INFO commandstats): notifications make listing unnecessary.
  const modes: { name: string; opts: { notifications?: string; configRefused?: boolean }; within: number; scanning: boolean }[] = [
    // Notifications name each changed key: the change is applied within a few tens of ms (bounded generously for a loaded machine).
    { name: 'keyspace notifications on (KEA)', opts: { notifications: 'KEA' }, within: 1000, scanning: false },
    { name: 'notifications off (the default): by scanning', opts: {}, within: 5000, scanning: true },
    { name: 'CONFIG refused (managed Redis): by scanning', opts: { configRefused: true }, within: 5000, scanning: true },
    { name: 'notifications without the generic class (K$): by scanning', opts: { notifications: 'K$' }, within: 5000, scanning: true },
  ];
  for (const mode of modes) {
    t.test(`${mode.name}: keys become routes, updates and deletes follow`, async (t) => {
      const redis = await startRedis(t, mode.opts);
      const [a, b] = [await startEchoBackend('a'), await startEchoBackend('b')];
      t.teardown(() => Promise.all([a.close(), b.close()]));
      for (const [k, v] of routeKeys('traefik', 'shop', a.url)) await redis.put(k, v);
      const gw = await startKvGateway(t, provider(redis));
      t.equal(await gw.reach('shop.localhost'), 'a', 'the route from the keys serves at start');
      const before = await scans(redis);
      await steps(t, redis, gw, { a: a.url, b: b.url }, mode.within);
      await new Promise((r) => setTimeout(r, 600));
      const during = (await scans(redis)) - before;
      if (mode.scanning) t.ok(during > 0, `keys listed by SCAN (${during} calls)`);
      else t.equal(during, 0, 'no SCAN after the first listing: notifications alone');
    });
  }

  t.test('notifications turned on at run time: followed from the next check', async (t) => {
    const redis = await startRedis(t);
    const a = await startEchoBackend('a');
    t.teardown(() => a.close());
    const gw = await startKvGateway(t, provider(redis, '\n    db: 3'));
    await redis.cli('config', 'set', 'notify-keyspace-events', 'KA');
    await new Promise((r) => setTimeout(r, 1200));
    const before = await scans(redis);
    for (const [k, v] of routeKeys('traefik', 'late', a.url)) await redis.cli('-n', '3', 'set', k, v);
    const ms = await until('the route in db 3', async () => (await gw.reach('late.localhost')) === 'a', 1000);
    await new Promise((r) => setTimeout(r, 600));
    t.equal((await scans(redis)) - before, 0, `applied ${ms} ms after the write, with no SCAN since notifications were turned on`);
  });

  t.test('a bad rule breaks that router only, and the API names the key', async (t) => {
    const redis = await startRedis(t, { notifications: 'KEA' });
    const a = await startEchoBackend('a');
    t.teardown(() => a.close());
    for (const [k, v] of routeKeys('traefik', 'good', a.url)) await redis.put(k, v);
    const gw = await startKvGateway(t, provider(redis));
    for (const [k, v] of routeKeys('traefik', 'broken', a.url)) await redis.put(k, k.endsWith('/rule') ? 'Host(`broken.localhost`' : v);
    await until('the broken router is reported', async () => (await gw.router('broken@redis')).status === 'disabled');
    const view = await gw.router('broken@redis');
    t.ok(view.error?.some((e) => /^traefik\/http\/routers\/broken\/rule: /.test(e)), `error names the key: ${JSON.stringify(view.error)}`);
    t.equal(await gw.reach('good.localhost'), 'a', 'the other router keeps serving');
  });

  t.test('Redis stopped: routes keep serving; restarted: changes resume', async (t) => {
    const redis = await startRedis(t, { notifications: 'KEA' });
    const [a, b] = [await startEchoBackend('a'), await startEchoBackend('b')];
    t.teardown(() => Promise.all([a.close(), b.close()]));
    for (const [k, v] of routeKeys('traefik', 'app', a.url)) await redis.put(k, v);
    const gw = await startKvGateway(t, provider(redis));
    t.equal(await gw.reach('app.localhost'), 'a', 'serving before');
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(await gw.reach('app.localhost'), 'a', 'still serving while Redis is down (across reconnection attempts)');
    await redis.start();
    await until('the keys listed again after the restart', async () => (await gw.reach('app.localhost')) === 'a', 15_000);
    await redis.put('traefik/http/services/app/loadbalancer/servers/0/url', b.url);
    const ms = await until('the change after the restart', async () => (await gw.reach('app.localhost')) === 'b', 15_000);
    t.pass(`a change written after the restart applies (${ms} ms)`);
  });

  t.test('an ACL user that may read keys but not CONFIG (as on managed Redis): by scanning', async (t) => {
    const redis = await startRedis(t, { adminPassword: 'admin-secret', notifications: 'KEA' });
    const a = await startEchoBackend('a');
    t.teardown(() => a.close());
    await redis.cli('acl', 'setuser', 'portier', 'on', '>read-only', '~traefik/*', '&*', '+@connection', '+info', '+get', '+mget', '+scan', '+psubscribe', '+punsubscribe');
    for (const [k, v] of routeKeys('traefik', 'acl', a.url)) await redis.put(k, v);
    const gw = await startKvGateway(t, provider(redis, '\n    username: portier\n    password: read-only'));
    t.equal(await gw.reach('acl.localhost'), 'a', 'the routes are read as that user');
    const before = await scans(redis);
    await redis.put('traefik/http/routers/acl/rule', 'Host(`acl2.localhost`)');
    await until('the change', async () => (await gw.reach('acl2.localhost')) === 'a');
    t.ok((await scans(redis)) > before, 'found by SCAN: CONFIG GET is refused to this user, so notifications are not relied on');
    const refused = await startKvGateway(t, provider(redis, '\n    username: portier\n    password: wrong'));
    t.equal(await refused.reach('acl2.localhost'), '404', 'a wrong password reads nothing');
  });

  t.test('sentinel: the master the sentinel names, or a replica with replicaStrategy', async (t) => {
    const master = await startRedis(t, { notifications: 'KEA' });
    const replica = await startRedis(t, { notifications: 'KEA', replicaOf: master.port });
    await until('the replica in sync', async () => /master_link_status:up/.test(await replica.cli('info', 'replication')), 15_000);
    const sentinel = await startSentinel(t, 'edge', master.port);
    await until('the sentinel knows the replica', async () => /127\.0\.0\.1/.test(await replica.cli('-p', sentinel.split(':')[1], 'sentinel', 'replicas', 'edge')), 20_000);
    const a = await startEchoBackend('a');
    t.teardown(() => a.close());
    for (const [k, v] of routeKeys('traefik', 'ha', a.url)) await master.put(k, v);
    const rows: { name: string; strategy: string; reads: RedisStore }[] = [
      { name: 'master', strategy: '', reads: master },
      { name: 'replica', strategy: '\n      replicaStrategy: true', reads: replica },
    ];
    for (const [i, row] of rows.entries()) {
      const before = Number(/cmdstat_mget:calls=(\d+)/.exec(await row.reads.cli('info', 'commandstats'))?.[1] ?? 0);
      const gw = await startKvGateway(t, `  redis:\n    endpoints: ["${sentinel}"]\n    sentinel:\n      masterName: edge${row.strategy}`);
      t.equal(await gw.reach('ha.localhost'), 'a', `${row.name}: the routes are read through the sentinel`);
      const after = Number(/cmdstat_mget:calls=(\d+)/.exec(await row.reads.cli('info', 'commandstats'))?.[1] ?? 0);
      t.ok(after > before, `${row.name}: read from the ${row.name} (MGET calls ${before} → ${after})`);
      await master.put('traefik/http/routers/ha/rule', `Host(\`ha${i}.localhost\`)`);
      const ms = await until(`${row.name}: a change`, async () => (await gw.reach(`ha${i}.localhost`)) === 'a');
      t.pass(`${row.name}: a change written to the master applies (${ms} ms)`);
      await gw.close();
      await master.put('traefik/http/routers/ha/rule', 'Host(`ha.localhost`)');
    }
  });

  t.test('a burst of keys (one MSET of ten routers) is applied as one configuration; unchanged keys cause none', async (t) => {
    const rows: { name: string; opts: { notifications?: string } }[] = [
      { name: 'by notifications', opts: { notifications: 'KEA' } },
      { name: 'by scanning', opts: {} },
    ];
    for (const row of rows) {
      const redis = await startRedis(t, row.opts);
      const a = await startEchoBackend('a');
      t.teardown(() => a.close());
      const gw = await startKvGateway(t, provider(redis));
      const names = Array.from({ length: 10 }, (_, i) => `burst${i}`);
      const before = gw.reloads();
      await redis.cli('mset', ...names.flatMap((n) => routeKeys('traefik', n, a.url).flat()));
      await until('all ten routes', async () => (await Promise.all(names.map((n) => gw.reach(`${n}.localhost`)))).every((b) => b === 'a'));
      await new Promise((r) => setTimeout(r, 700));
      t.equal(gw.reloads() - before, 1, `${row.name}: 40 keys, one reload`);
      // Nothing below the root key changed: a value written again, a key elsewhere, listings that find the same keys.
      await redis.put('traefik/http/routers/burst0/service', 'burst0');
      await redis.put('elsewhere/http/routers/x/rule', 'Path(`/`)');
      await new Promise((r) => setTimeout(r, 1200));
      t.equal(gw.reloads() - before, 1, `${row.name}: no reload when no key below the root changed`);
      await gw.close();
    }
  });
}
