import t from 'tap';
import { compile, newCompileCache, CompileOptions } from '../../src/routing/compile';
import { TRANSPORT_DEFAULTS } from '../../src/proxy/transport';
import { middlewareTypes } from '../../src/plugins';
import { silentLogger } from '../../src/log/logger';
import type { DynamicConfig, ProviderSnapshot } from '../../src/dynamic/model';
import type { RoutingTable } from '../../src/routing/table';

const opts: CompileOptions = {
  entryPoints: { web: { tls: false, endsTls: false, asDefault: true, middlewares: [] } },
  defaultRuleSyntax: 'v3',
  transport: TRANSPORT_DEFAULTS,
  middlewareTypes,
  log: silentLogger,
  onHealthChange: () => undefined,
};

/** Three routers: a and b on their own services, c on a shared one through a headers middleware. */
const base = (): DynamicConfig => ({
  http: {
    routers: {
      a: { rule: 'Host(`a.test`)', service: 'sa' },
      b: { rule: 'Host(`b.test`)', service: 'sb' },
      c: { rule: 'Host(`c.test`)', service: 'sb', middlewares: ['hdr'] },
    },
    services: {
      sa: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } },
      sb: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:2' }] } },
    },
    middlewares: { hdr: { headers: { customRequestHeaders: { 'X-A': '1' } } } },
    serversTransports: {},
  },
});

const snap = (config: DynamicConfig): ProviderSnapshot[] => [{ provider: 'file', config }];

const cases: { name: string; change: (c: DynamicConfig) => void; rebuilt: string[]; fails?: string[] }[] = [
  { name: 'no change', change: () => undefined, rebuilt: [] },
  { name: 'one router\'s rule', change: (c) => (c.http!.routers!.a.rule = 'Host(`a2.test`)'), rebuilt: ['a'] },
  { name: 'a service: the routers using it', change: (c) => (c.http!.services!.sb.loadBalancer!.servers[0].url = 'http://127.0.0.1:3'), rebuilt: ['b', 'c'] },
  { name: 'a middleware: the router using it', change: (c) => (c.http!.middlewares!.hdr = { headers: { customRequestHeaders: { 'X-A': '2' } } }), rebuilt: ['c'] },
  { name: 'a router added', change: (c) => (c.http!.routers!.d = { rule: 'Host(`d.test`)', service: 'sa' }), rebuilt: ['d'] },
  { name: 'a router removed', change: (c) => delete c.http!.routers!.b, rebuilt: [] },
  { name: 'a broken rule: the last good one serves', change: (c) => (c.http!.routers!.a.rule = 'Host(`a.test`'), rebuilt: ['a'], fails: ['a'] },
];

const handlerOf = (table: RoutingTable, r: string): unknown => table.routers.get(`${r}@file`)?.handler;

for (const k of cases) {
  t.test(k.name, async (t) => {
    const cache = newCompileCache();
    const before = compile(snap(base()), opts, cache);
    const config = base();
    k.change(config);
    const after = compile(snap(config), opts, cache);
    for (const r of Object.keys(config.http!.routers!)) {
      const kept = after.routers.get(`${r}@file`) === before.routers.get(`${r}@file`) && handlerOf(after, r) === handlerOf(before, r);
      t.equal(kept, !k.rebuilt.includes(r), `${r}: ${k.rebuilt.includes(r) ? 'rebuilt' : 'kept, same object and handler'}`);
      t.ok(handlerOf(after, r), `${r} serves`);
    }
    for (const r of k.fails ?? []) t.equal(after.routers.get(`${r}@file`)?.status, 'warning', `${r}: warning, its last good definition serving`);
    t.notOk(after.routers.has('b@file') !== Boolean(config.http!.routers!.b), 'a removed router is gone');
    for (const lb of cache.balancers.values()) lb.lb.close(true);
  });
}

t.test('a rule no router uses any more is forgotten', async (t) => {
  const cache = newCompileCache();
  for (let i = 0; i < 50; i++) {
    const config = base();
    config.http!.routers!.a.rule = `Host(\`a${i}.test\`)`;
    compile(snap(config), opts, cache);
  }
  t.equal(cache.rules.size, 3, 'one compiled rule per router in use');
  for (const lb of cache.balancers.values()) lb.lb.close(true);
});
