import t from 'tap';
import { compile, newCompileCache, CompileOptions } from '../../src/routing/compile';
import { TRANSPORT_DEFAULTS } from '../../src/proxy/transport';
import { middlewareTypes } from '../../src/plugins';
import { silentLogger } from '../../src/log/logger';
import type { DynamicConfig, ProviderSnapshot } from '../../src/dynamic/model';
import type { RoutingTable } from '../../src/routing/table';
import { prng } from '../helpers/prng';

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

/** What a user can see of a table: the API's fields of every object, and which router each request reaches. */
function view(table: RoutingTable, hosts: string[]): unknown {
  const sorted = (l: readonly string[]): string[] => [...l].sort();
  return {
    routers: [...table.routers.values()].map((r) => ({
      name: r.name, status: r.status, errors: r.errors, warnings: sorted(r.warnings), service: r.service, middlewares: r.middlewares, priority: r.priority, tls: r.tls, plain: r.plain, serves: r.dispatch !== undefined,
      // Without middlewares, a router calls its service's balancer itself: the current one, not one a change replaced.
      current: r.middlewares.length || !r.dispatch ? undefined : r.dispatch === table.services.get(r.service!)?.dispatch,
    })).sort((a, b) => a.name.localeCompare(b.name)),
    services: [...table.services.values()].map((s) => ({ name: s.name, status: s.status, errors: s.errors, warnings: s.warnings, usedBy: sorted(s.usedBy) })).sort((a, b) => a.name.localeCompare(b.name)),
    middlewares: [...table.middlewares.values()].map((m) => ({ name: m.name, status: m.status, usedBy: sorted(m.usedBy) })).sort((a, b) => a.name.localeCompare(b.name)),
    matched: hosts.flatMap((host) => [false, true].map((tls) => table.match('web', tls, { host, path: '/x', method: 'GET', headers: {}, query: '', clientIp: '127.0.0.1' })?.name)),
  };
}

/**
 * A change that touches only routers and services is compiled from the
 * previous table (routing/compile-delta.ts): after each of a seeded series
 * of random edits, the table reads exactly as a whole compile with the same
 * history reads.
 */
t.test('a change compiled from the previous table reads as a whole compile', async (t) => {
  const random = prng(20261207);
  const pick = <T>(l: T[]): T => l[Math.floor(random() * l.length)];
  const hosts = Array.from({ length: 12 }, (_, i) => `h${i}.test`);
  const config: DynamicConfig = {
    http: {
      routers: {
        tls: { rule: 'Host(`h0.test`)', service: 's0', tls: {} },
        any: { rule: 'PathPrefix(`/`)', service: 's1', priority: 1 },
        viaMw: { rule: 'Host(`h1.test`)', service: 's2', middlewares: ['hdr'] },
        viaW: { rule: 'Host(`h2.test`)', service: 'w' },
      },
      services: {
        w: { weighted: { services: [{ name: 's3', weight: 1 }] } },
        s3: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } },
      },
      middlewares: { hdr: { headers: { customRequestHeaders: { 'X-A': '1' } } } },
      serversTransports: {},
    },
  };
  const http = config.http!;
  for (let i = 0; i < 6; i++) http.services![`s${i}`] ??= { loadBalancer: { servers: [{ url: `http://127.0.0.1:${i + 1}` }] } };
  for (let i = 0; i < 20; i++) http.routers![`r${i}`] = { rule: `Host(\`${pick(hosts)}\`)`, service: `s${i % 6}` };
  const edits: ((c: NonNullable<DynamicConfig['http']>) => void)[] = [
    (c) => (c.routers![`r${Math.floor(random() * 24)}`] = { rule: `Host(\`${pick(hosts)}\`)`, service: `s${Math.floor(random() * 8)}`, priority: Math.floor(random() * 3) }),
    (c) => delete c.routers![`r${Math.floor(random() * 24)}`],
    (c) => (c.routers![`r${Math.floor(random() * 24)}`] = { rule: 'Host(`broken.test`', service: 's0' }),
    (c) => (c.routers![`r${Math.floor(random() * 24)}`] = { rule: `Host(\`${pick(hosts)}\`) || Host(\`${pick(hosts)}\`)`, service: 's1', middlewares: ['hdr'] }),
    (c) => (c.services![`s${Math.floor(random() * 8)}`] = { loadBalancer: { servers: [{ url: `http://127.0.0.1:${1 + Math.floor(random() * 5)}` }] } }),
    (c) => delete c.services![`s${Math.floor(random() * 8)}`],
    (c) => (c.services![`s${Math.floor(random() * 8)}`] = { loadBalancer: { servers: [{ url: 'nope' }] } } as never),
  ];
  const incremental = newCompileCache();
  const whole = newCompileCache();
  let previous: RoutingTable | undefined;
  /** Steps compiled from the previous table: there the untouched weighted service is the same object (a whole compile makes every service anew). */
  let deltas = 0;
  for (let step = 0; step < 120; step++) {
    // A new object for each edited entry, the others the same objects: as the file provider hands them over.
    const next = { ...http, routers: { ...http.routers }, services: { ...http.services } };
    pick(edits)(next);
    Object.assign(http, next);
    const snapshot = snap({ http: next });
    const a = compile(snapshot, opts, incremental);
    delete whole.base;
    const b = compile(snapshot, opts, whole);
    t.same(view(a, hosts), view(b, hosts), `step ${step}`);
    if (previous && a.services.get('w@file') === previous.services.get('w@file')) deltas++;
    previous = a;
  }
  t.ok(deltas > 60, `${deltas} of 120 changes compiled from the previous table`);
  t.ok(incremental.rules.size <= Object.keys(http.routers!).length + 2, `${incremental.rules.size} compiled rules kept for ${Object.keys(http.routers!).length} routers`);
  for (const cache of [incremental, whole]) for (const lb of cache.balancers.values()) lb.lb.close(true);
});
