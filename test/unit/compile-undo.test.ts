import t from 'tap';
import { compile, newCompileCache, CompileOptions } from '../../src/routing/compile';
import { TRANSPORT_DEFAULTS } from '../../src/proxy/transport';
import { middlewareTypes } from '../../src/plugins';
import { silentLogger } from '../../src/log/logger';
import type { DynamicConfig, ProviderSnapshot } from '../../src/dynamic/model';

/**
 * A one-service change is compiled on top of the last table, changing the
 * compiler's caches in place (compile.ts, `cached`); a compile that throws
 * midway puts them back, so the next compile starts from the last good
 * state: unchanged routers kept, the changed service's balancer replaced.
 */
let failTls = false;
const opts: CompileOptions = {
  entryPoints: { web: { tls: false, endsTls: true, asDefault: true, middlewares: [] } },
  defaultRuleSyntax: 'v3',
  transport: TRANSPORT_DEFAULTS,
  middlewareTypes,
  log: silentLogger,
  onHealthChange: () => undefined,
  // A router with `tls` is rebuilt on every change: this makes a delta throw after it changed the caches.
  routerTls: () => {
    if (failTls) throw new Error('TLS manager failed');
    return [];
  },
};

const config = (port: number): DynamicConfig => ({
  http: {
    routers: {
      a: { rule: 'Host(`a.test`)', service: 'sa' },
      b: { rule: 'Host(`b.test`)', service: 'sb' },
      s: { rule: 'Host(`s.test`)', service: 'sb', tls: {} },
    },
    services: {
      sa: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${port}` }] } },
      sb: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:2' }] } },
    },
  },
});

const snap = (c: DynamicConfig): ProviderSnapshot[] => [{ provider: 'file', config: c }];

t.test('a delta that throws leaves the caches as they were', async (t) => {
  const cache = newCompileCache();
  const before = compile(snap(config(1)), opts, cache);
  const balancers = new Map([...cache.balancers].map(([name, { lb }]) => [name, lb]));
  const changed = config(3);
  failTls = true;
  t.throws(() => compile(snap(changed), opts, cache), /TLS manager failed/, 'the delta throws');
  t.same([...cache.balancers.keys()].sort(), ['sa@file', 'sb@file'], 'the balancers are those of the last table');
  t.equal(cache.balancers.get('sa@file')?.lb, balancers.get('sa@file'), "the changed service's balancer is the last table's again");
  failTls = false;
  const after = compile(snap(changed), opts, cache);
  t.equal(after.routers.get('b@file'), before.routers.get('b@file'), 'an unchanged router is kept');
  t.not(after.routers.get('a@file'), before.routers.get('a@file'), "the changed service's router is rebuilt");
  t.not(cache.balancers.get('sa@file')?.lb, balancers.get('sa@file'), "the changed service's balancer is replaced");
  t.equal(cache.balancers.get('sb@file')?.lb, balancers.get('sb@file'), 'an unchanged balancer is kept');
  t.equal(after.services.get('sa@file')?.serverStatus()['http://127.0.0.1:3'], 'UP', 'the new server serves');
  for (const { lb } of cache.balancers.values()) lb.close(true);
});
