import t from 'tap';
import { startTestGateway } from '../helpers/gateway';
import { routerView } from '../../src/api/views';

/** Routers naming TLS options: known sets apply (tls-router-options.test.ts shows them at work), unknown ones disable the router. */
const cases: { name: string; options: string; status: 'enabled' | 'warning' | 'disabled'; error?: string; warning?: string }[] = [
  { name: 'default', options: 'default', status: 'enabled' },
  { name: 'known', options: 'modern', status: 'enabled' },
  { name: 'qualified', options: 'modern@file', status: 'enabled' },
  { name: 'unknown', options: 'nope', status: 'disabled', error: 'tls.options: unknown TLS options "nope@file"' },
  { name: 'other-provider', options: 'modern@docker', status: 'disabled', error: 'tls.options: unknown TLS options "modern@docker"' },
];

t.test('router tls.options: unknown sets disable the router, known ones are silent', async (t) => {
  const gw = await startTestGateway({
    http: {
      routers: Object.fromEntries(cases.map((c) => [c.name, { rule: `Host(\`${c.name}.localhost\`)`, service: 'app', tls: { options: c.options } }])),
      services: { app: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } },
    },
    tls: { options: { modern: { minVersion: 'VersionTLS13' } } },
  });
  t.teardown(() => gw.close());
  for (const c of cases) {
    const runtime = gw.router(c.name);
    // What /api/http/routers shows for it.
    const view = runtime && (routerView(runtime) as { status: string; error?: string[]; warning?: string[] });
    t.equal(view?.status, c.status, `${c.name}: status`);
    t.same(view?.error, c.error && [c.error], `${c.name}: errors`);
    t.same(view?.warning, c.warning && [c.warning], `${c.name}: warnings`);
    t.equal(runtime?.handler === undefined, c.status === 'disabled', `${c.name}: ${c.status === 'disabled' ? 'no' : 'a'} handler`);
  }
});
