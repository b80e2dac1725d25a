import t from 'tap';
import { decodeDynamic } from '../../src/dynamic/decode-dynamic';
import { configFromContainers } from '../../src/dynamic/labels';
import type { DynamicConfig, LoadBalancerConfig, RouterConfig } from '../../src/dynamic/model';

/**
 * One schema: a value written in a file and the same value in a label are
 * accepted or refused alike, and mean the same.
 */
interface Case {
  name: string;
  kind: 'routers' | 'services';
  /** The label key below `traefik.http.routers.r.` or `traefik.http.services.s.`. */
  label: string;
  /** The same field in a file's router or loadBalancer. */
  file: (v: string) => Record<string, unknown>;
  read: (o: { router?: RouterConfig; lb?: LoadBalancerConfig }) => unknown;
  /** Other labels the object needs to be valid. */
  needs?: Record<string, string>;
  values: { value: string; ok: boolean }[];
}

const cases: Case[] = [
  {
    name: 'responseForwarding.flushInterval (negative: flush at once, as in Traefik)',
    kind: 'services',
    label: 'loadbalancer.responseforwarding.flushinterval',
    file: (v) => ({ responseForwarding: { flushInterval: v } }),
    read: ({ lb }) => lb?.responseForwarding?.flushInterval,
    values: [{ value: '-1', ok: true }, { value: '-1s', ok: true }, { value: '100ms', ok: true }, { value: '0', ok: true }, { value: 'soon', ok: false }, { value: '-', ok: false }],
  },
  {
    name: 'healthCheck.port',
    kind: 'services',
    label: 'loadbalancer.healthcheck.port',
    needs: { 'loadbalancer.healthcheck.path': '/health' },
    file: (v) => ({ healthCheck: { path: '/health', port: v } }),
    read: ({ lb }) => lb?.healthCheck?.port,
    values: [{ value: '8080', ok: true }, { value: '0', ok: false }, { value: '70000', ok: false }, { value: 'x', ok: false }],
  },
  {
    name: 'healthCheck.method (uppercased, a token)',
    kind: 'services',
    label: 'loadbalancer.healthcheck.method',
    needs: { 'loadbalancer.healthcheck.path': '/health' },
    file: (v) => ({ healthCheck: { path: '/health', method: v } }),
    read: ({ lb }) => lb?.healthCheck?.method,
    values: [{ value: 'head', ok: true }, { value: 'GET', ok: true }, { value: 'GET /x', ok: false }],
  },
  {
    name: 'servers[0].url',
    kind: 'services',
    label: 'loadbalancer.server.url',
    file: (v) => ({ servers: [{ url: v }] }),
    read: ({ lb }) => lb?.servers[0]?.url,
    values: [{ value: 'http://127.0.0.1:9', ok: true }, { value: 'h2c://127.0.0.1:9', ok: true }, { value: 'ftp://x', ok: false }, { value: 'not a url', ok: false }],
  },
  {
    name: 'strategy',
    kind: 'services',
    label: 'loadbalancer.strategy',
    file: (v) => ({ strategy: v }),
    read: ({ lb }) => lb?.strategy,
    values: [{ value: 'wrr', ok: true }, { value: 'p2c', ok: false }],
  },
  {
    name: 'sticky.cookie.sameSite',
    kind: 'services',
    label: 'loadbalancer.sticky.cookie.samesite',
    file: (v) => ({ sticky: { cookie: { sameSite: v } } }),
    read: ({ lb }) => lb?.sticky?.cookie?.sameSite,
    values: [{ value: 'lax', ok: true }, { value: '', ok: true }, { value: 'sometimes', ok: false }],
  },
  {
    name: 'router priority',
    kind: 'routers',
    label: 'priority',
    file: (v) => ({ priority: v }),
    read: ({ router }) => router?.priority,
    values: [{ value: '10', ok: true }, { value: 'high', ok: false }],
  },
  {
    name: 'router ruleSyntax',
    kind: 'routers',
    label: 'rulesyntax',
    file: (v) => ({ ruleSyntax: v }),
    read: ({ router }) => router?.ruleSyntax,
    values: [{ value: 'v2', ok: true }, { value: 'v4', ok: false }],
  },
];

const RULE = 'Host(`s.localhost`)';

for (const c of cases) {
  t.test(c.name, async (t) => {
    for (const { value, ok } of c.values) {
      const fileConfig: DynamicConfig = {
        http: {
          routers: { r: { rule: RULE, service: 's', ...(c.kind === 'routers' ? c.file(value) : {}) } as RouterConfig },
          services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }], ...(c.kind === 'services' ? c.file(value) : {}) } as LoadBalancerConfig } },
        },
      };
      const prefix = c.kind === 'routers' ? 'traefik.http.routers.r.' : 'traefik.http.services.s.';
      const labels = Object.fromEntries(Object.entries({ ...c.needs, [c.label]: value }).map(([k, v]) => [prefix + k, v]));
      const fromFile = decodeDynamic(fileConfig);
      const fromLabels = configFromContainers(
        [{ id: 'c', name: 'c', labels: { 'traefik.http.routers.r.rule': RULE, 'traefik.http.routers.r.service': 's', ...labels }, address: '127.0.0.1', ports: [9], ready: true }],
        { prefixes: ['traefik'], exposedByDefault: true },
      );
      const key = c.kind === 'routers' ? 'routers.r' : 'services.s';
      t.equal(fromFile.errors[key] === undefined, ok, `${JSON.stringify(value)} from a file: ${ok ? 'accepted' : 'refused'} ${fromFile.errors[key] ?? ''}`);
      t.equal(fromLabels.errors[key] === undefined, ok, `${JSON.stringify(value)} from a label: ${ok ? 'accepted' : 'refused'} ${fromLabels.errors[key] ?? ''}`);
      if (!ok) continue;
      const read = (d: DynamicConfig): unknown => c.read({ router: d.http?.routers?.r, lb: d.http?.services?.s?.loadBalancer });
      t.same(read(fromLabels.config), read(fromFile.config), `${JSON.stringify(value)}: the same meaning from both`);
    }
  });
}
