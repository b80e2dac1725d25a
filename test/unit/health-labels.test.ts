import t from 'tap';
import { configFromContainers } from '../../src/dynamic/labels';

/** Labels for the health-check, server-scheme and sticky-domain keys: applied, or errors naming the label. */
interface Case {
  name: string;
  labels: Record<string, string>;
  /** Partial match of the result (tap's t.match). */
  want: unknown;
  errorKeys?: string[];
}

const S = 'traefik.http.services.s.loadbalancer.';
const T = 'traefik.http.services.t.loadbalancer.';

const cases: Case[] = [
  {
    name: 'unhealthyinterval, mode=http and sticky.cookie.domain are applied',
    labels: { [S + 'healthcheck.path']: '/health', [S + 'healthcheck.unhealthyinterval']: '2s', [S + 'healthcheck.mode']: 'HTTP', [S + 'sticky.cookie.domain']: 'shop.localhost' },
    want: {
      config: { http: { services: { s: { loadBalancer: { healthCheck: { path: '/health', unhealthyInterval: '2s', mode: 'http' }, sticky: { cookie: { domain: 'shop.localhost' } } } } } } },
    },
  },
  {
    name: 'an unknown mode or scheme and a bad cookie domain are errors naming the label',
    labels: {
      [S + 'healthcheck.path']: '/health', [S + 'healthcheck.mode']: 'tcp', [S + 'healthcheck.scheme']: 'h3', [S + 'server.scheme']: 'ws',
      [T + 'server.url']: 'ftp://127.0.0.1:9000', [T + 'sticky.cookie.domain']: 'a.localhost; Secure', [T + 'healthcheck.path']: '/h', [T + 'healthcheck.unhealthyinterval']: 'often',
      'traefik.http.routers.r.service': 's',
    },
    want: {
      errors: {
        'services.s': [
          /^label traefik\.http\.services\.s\.loadbalancer\.healthcheck\.mode: expected one of http, grpc, got "tcp"/,
          /healthcheck\.scheme: expected one of http, https, h2c, got "h3"/,
          /server\.scheme: expected one of http, https, h2c, got "ws"/,
        ],
        'services.t': [/healthcheck\.unhealthyinterval: expected a duration/, /server\.url: unsupported scheme ftp:/, /sticky\.cookie\.domain: expected a domain name/],
      },
    },
    errorKeys: ['services.s', 'services.t'],
  },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = configFromContainers([{ id: 'c', name: 'c', labels: c.labels, address: '127.0.0.1', ports: [80], ready: true }], { prefixes: ['traefik'], exposedByDefault: true });
    t.match(r, c.want as object);
    t.same(Object.keys(r.errors).sort(), c.errorKeys ?? []);
    t.same(Object.values(r.warnings).flat().filter((w) => / ignored$/.test(w)), [], 'no key is warned about and ignored');
  });
}
