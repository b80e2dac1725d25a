import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMetrics, MetricsOptions } from '../../src/metrics/prometheus';
import { RoutingTable } from '../../src/routing/table';
import type { RouterRuntime, ServiceRuntime } from '../../src/routing/runtime';
import type { RequestRecord } from '../../src/server/observer';
import { loadStaticConfig } from '../../src/config/load';

const router = (name: string, service: string): RouterRuntime => ({ name, service, entryPoints: ['web'], middlewares: [], status: 'enabled', errors: [], warnings: [] }) as unknown as RouterRuntime;
const service = (name: string, servers: Record<string, 'UP' | 'DOWN'>): ServiceRuntime => ({ name, status: 'enabled', serverStatus: () => servers }) as unknown as ServiceRuntime;

function table(routers: [string, string][], services: [string, Record<string, 'UP' | 'DOWN'>][]): RoutingTable {
  return new RoutingTable(new Map(routers.map(([r, s]) => [r, router(r, s)])), new Map(services.map(([s, st]) => [s, service(s, st)])), new Map(), { web: false });
}

function record(routerName: string | undefined, serviceName: string | undefined, status: number, extra: Partial<RequestRecord['ex']> = {}): RequestRecord {
  return {
    ex: { entryPoint: 'web', routerName, serviceName, retryAttempts: 0, req: { method: 'GET', headers: {} }, ...extra } as unknown as RequestRecord['ex'],
    status, bytesIn: 10, bytesOut: 100, durationMs: 12, aborted: false,
  };
}

function setup(over: Partial<MetricsOptions> = {}) {
  let current = table([['shop@file', 'shop@file'], ['blog@file', 'blog@file']], [['shop@file', { 'http://10.0.0.1': 'UP', 'http://10.0.0.2': 'DOWN' }], ['blog@file', {}]]);
  const m = createMetrics({
    prefix: 'portier', buckets: [0.1, 0.3, 1.2, 5], addEntryPointsLabels: true, addRoutersLabels: true, addServicesLabels: true,
    table: () => current, reloads: () => ({ total: 3, lastSuccess: true, lastAt: 1_700_000_000_000 }),
    certificates: () => [{ domains: ['shop.test', 'www.shop.test'], notAfter: '2030-01-01T00:00:00.000Z' }],
    processMetrics: false, ...over,
  });
  return { m, setTable: (tb: RoutingTable) => { current = tb; m.tableChanged(tb); } };
}

t.test('families, names and labels', async (t) => {
  const cases: { name: string; over: Partial<MetricsOptions>; has: RegExp[]; hasNot: RegExp[] }[] = [
    {
      name: 'portier prefix, all labels',
      over: {},
      has: [
        /^portier_entrypoint_requests_total\{code="200",method="GET",protocol="http",entrypoint="web"\} 2$/m,
        /^portier_router_requests_total\{code="200",method="GET",protocol="http",router="shop@file",service="shop@file"\} 2$/m,
        /^portier_service_requests_total\{code="200",method="GET",protocol="http",service="shop@file"\} 2$/m,
        /^portier_entrypoint_request_duration_seconds_bucket\{le="0.1",code="200",method="GET",protocol="http",entrypoint="web"\} 2$/m,
        /^portier_entrypoint_requests_bytes_total\{code="200",method="GET",protocol="http",entrypoint="web"\} 20$/m,
        /^portier_service_responses_bytes_total\{code="200",method="GET",protocol="http",service="shop@file"\} 200$/m,
        /^portier_service_retries_total\{service="shop@file"\} 2$/m,
        /^portier_service_server_up\{service="shop@file",url="http:\/\/10.0.0.1"\} 1$/m,
        /^portier_service_server_up\{service="shop@file",url="http:\/\/10.0.0.2"\} 0$/m,
        /^portier_config_reloads_total 3$/m,
        /^portier_config_last_reload_success 1700000000$/m,
        /^portier_tls_certs_not_after\{cn="shop.test",sans="shop.test,www.shop.test",serial=""\} 1893456000$/m,
        /^portier_open_connections\{entrypoint="web",protocol="http"\} 1$/m,
        /^portier_entrypoint_requests_total\{code="404",method="EXTENSION_METHOD",protocol="http",entrypoint="web"\} 1$/m,
      ],
      hasNot: [/api@internal/],
    },
    {
      name: 'traefik prefix, Traefik defaults for router labels off',
      over: { prefix: 'traefik', addRoutersLabels: false },
      has: [/^traefik_entrypoint_requests_total\{/m, /^traefik_service_requests_total\{/m, /^traefik_config_reloads_total 3$/m],
      hasNot: [/^traefik_router_requests_total\{/m, /^portier_/m],
    },
    {
      name: 'internals counted with addInternals',
      over: { addInternals: true },
      has: [/^portier_service_requests_total\{code="200",method="GET",protocol="http",service="api@internal"\} 1$/m],
      hasNot: [],
    },
  ];
  for (const c of cases) {
    const { m } = setup(c.over);
    m.observer.requestEnded(record('shop@file', 'shop@file', 200, { retryAttempts: 1 }));
    m.observer.requestEnded(record('shop@file', 'shop@file', 200, { retryAttempts: 1 }));
    m.observer.requestEnded(record(undefined, undefined, 404, { req: { method: 'BREW', headers: {} } } as never));
    m.observer.requestEnded(record('api@internal', 'api@internal', 200));
    m.observer.connectionOpened?.('web', 'http');
    m.observer.connectionOpened?.('web', 'http');
    m.observer.connectionClosed?.('web', 'http');
    const text = await m.registry.metrics();
    for (const re of c.has) t.match(text, re, `${c.name}: ${re}`);
    for (const re of c.hasNot) t.notMatch(text, re, `${c.name}: not ${re}`);
  }
});

t.test('series of removed routers and services are dropped', async (t) => {
  const { m, setTable } = setup();
  m.observer.requestEnded(record('shop@file', 'shop@file', 200));
  m.observer.requestEnded(record('blog@file', 'blog@file', 500));
  setTable(table([['shop@file', 'shop@file']], [['shop@file', { 'http://10.0.0.1': 'UP' }]]));
  const text = await m.registry.metrics();
  t.match(text, /router="shop@file"/);
  t.notMatch(text, /blog@file/, 'no series left for the removed router and service');
  t.match(text, /^portier_entrypoint_requests_total\{code="500",method="GET",protocol="http",entrypoint="web"\} 1$/m, 'entrypoint series stay');
  t.notMatch(text, /10\.0\.0\.2/, 'a removed server is gone from server_up');
  m.observer.requestEnded(record('shop@file', 'shop@file', 200));
  t.match(await m.registry.metrics(), /^portier_router_requests_total\{code="200",method="GET",protocol="http",router="shop@file",service="shop@file"\} 2$/m, 'cached children keep counting');
});

t.test('static configuration: defaults, the metrics entrypoint, errors with paths', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-metrics-cfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases: { name: string; yaml: string; check?: (c: ReturnType<typeof loadStaticConfig>['config']) => void; error?: RegExp }[] = [
    {
      name: 'empty prometheus section: defaults and 127.0.0.1:8082',
      yaml: 'metrics:\n  prometheus:\n',
      check: (c) => {
        t.same(c.metrics?.prometheus?.buckets, [0.1, 0.3, 1.2, 5]);
        t.equal(c.metrics?.prometheus?.prefix, 'portier');
        t.equal(c.entryPoints.metrics?.address, '127.0.0.1:8082');
      },
    },
    { name: 'on another entrypoint: no metrics entrypoint', yaml: 'entryPoints:\n  web: { address: ":8080" }\n  traefik: { address: "127.0.0.1:9000" }\nmetrics:\n  prometheus: { entryPoint: traefik }\n', check: (c) => t.equal(c.entryPoints.metrics, undefined) },
    { name: 'manual routing: no metrics entrypoint', yaml: 'metrics:\n  prometheus: { manualRouting: true }\n', check: (c) => t.equal(c.entryPoints.metrics, undefined) },
    { name: 'no metrics: no entrypoint', yaml: 'entryPoints:\n  web: { address: ":8080" }\n', check: (c) => t.equal(c.entryPoints.metrics, undefined) },
    { name: 'bad prefix', yaml: 'metrics:\n  prometheus: { prefix: "my-proxy" }\n', error: /metrics\.prometheus\.prefix: expected a Prometheus name prefix/ },
    { name: 'bad bucket', yaml: 'metrics:\n  prometheus: { buckets: [0.1, "fast"] }\n', error: /metrics\.prometheus\.buckets\[1\]: expected a number/ },
    { name: 'unknown key', yaml: 'metrics:\n  prometheus: { adRoutersLabels: true }\n', error: /metrics\.prometheus\.adRoutersLabels: unknown key/ },
  ];
  for (const [i, c] of cases.entries()) {
    const file = path.join(dir, `c${i}.yaml`);
    fs.writeFileSync(file, c.yaml);
    if (c.error) t.throws(() => loadStaticConfig({ file, flags: [], env: {} }), c.error, c.name);
    else c.check?.(loadStaticConfig({ file, flags: [], env: {} }).config);
  }
});
