import t from 'tap';
import { decodeDynamic } from '../../src/dynamic/decode-dynamic';

interface Case {
  name: string;
  /** `http.services.s.loadBalancer`, merged over one http server. */
  lb: Record<string, unknown>;
  /** The service's errors; none when absent. */
  errors?: RegExp[];
  /** Partial match of the decoded loadBalancer. */
  want?: Record<string, unknown>;
}

const hc = (o: Record<string, unknown>) => ({ healthCheck: { path: '/health', ...o } });
const P = 'http.services.s.loadBalancer';

const cases: Case[] = [
  {
    name: 'mode http, unhealthyInterval and followRedirects are kept',
    lb: hc({ mode: 'http', interval: '30s', unhealthyInterval: '5s', followRedirects: false }),
    want: { healthCheck: { mode: 'http', unhealthyInterval: '5s', followRedirects: false } },
  },
  { name: 'mode grpc is kept', lb: hc({ mode: 'grpc' }), want: { healthCheck: { mode: 'grpc' } } },
  { name: 'an unknown mode is refused', lb: hc({ mode: 'tcp' }), errors: [new RegExp(`^${P}\\.healthCheck\\.mode: expected one of http, grpc, got "tcp"`)] },
  { name: 'a bad unhealthyInterval names its key', lb: hc({ unhealthyInterval: 'often' }), errors: [/healthCheck\.unhealthyInterval: expected a duration/] },
  { name: 'healthCheck.scheme h2c is kept', lb: hc({ scheme: 'H2C' }), want: { healthCheck: { scheme: 'h2c' } } },
  { name: 'healthCheck.scheme https is kept', lb: hc({ scheme: 'https' }), want: { healthCheck: { scheme: 'https' } } },
  { name: 'an h2c server URL is kept', lb: { servers: [{ url: 'h2c://127.0.0.1:9000' }] }, want: { servers: [{ url: 'h2c://127.0.0.1:9000' }] } },
  {
    name: 'another scheme is refused, naming the three',
    lb: { servers: [{ url: 'ftp://127.0.0.1:9000' }] },
    errors: [new RegExp(`^${P}\\.servers\\[0\\]\\.url: unsupported scheme ftp: \\(http, https, h2c\\)`)],
  },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const d = decodeDynamic({ http: { services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9000' }], ...c.lb } } } } });
    t.match(d.errors['services.s'] ?? [], c.errors ?? [], 'errors');
    t.equal((d.errors['services.s'] ?? []).length, (c.errors ?? []).length, 'error count');
    if (c.want) t.match(d.config.http?.services?.s?.loadBalancer, c.want, 'decoded');
  });
}
