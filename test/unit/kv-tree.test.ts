import t from 'tap';
import { decodeKv, keyOf, kvTree } from '../../src/dynamic/kv-tree';
import { decodeAll } from '../../src/config/decode';
import { middlewareTypes } from '../../middlewares/index';

/**
 * Traefik's KV layout folded into the dynamic model: each case is the keys
 * a user writes with etcdctl or redis-cli, and what the one dynamic schema
 * makes of them (values typed as the decoders expect, lists by index, maps
 * by name, errors on the object and named by key).
 */
interface Case {
  name: string;
  keys: Record<string, string>;
  rootKey?: string;
  /** A part of the decoded configuration, read out of it. */
  read?: (c: ReturnType<typeof decodeKv>) => unknown;
  want?: unknown;
  /** Per object key (`routers.r`): a pattern every error list must match. */
  errors?: Record<string, RegExp>;
  warnings?: Record<string, RegExp>;
  notices?: RegExp[];
}

const svc = { 'traefik/http/services/s/loadbalancer/servers/0/url': 'http://127.0.0.1:8080' };

const cases: Case[] = [
  {
    name: 'a router: rule, service, priority as a number, entrypoints by index',
    keys: {
      'traefik/http/routers/r/rule': 'Host(`a.localhost`)',
      'traefik/http/routers/r/service': 's',
      'traefik/http/routers/r/priority': '42',
      'traefik/http/routers/r/entrypoints/0': 'web',
      'traefik/http/routers/r/entrypoints/1': 'websecure',
      ...svc,
    },
    read: (d) => d.config.http?.routers?.r,
    want: { rule: 'Host(`a.localhost`)', service: 's', priority: 42, entryPoints: ['web', 'websecure'] },
  },
  {
    name: 'list items are ordered by index as numbers, not as text (10 after 2)',
    keys: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`traefik/http/routers/r/middlewares/${i}`, `m${i}`]).concat([['traefik/http/routers/r/rule', 'Path(`/`)']])),
    read: (d) => d.config.http?.routers?.r.middlewares,
    want: ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10'],
  },
  {
    name: 'a list written as one comma-separated value, as in labels',
    keys: { 'traefik/http/routers/r/rule': 'Path(`/`)', 'traefik/http/routers/r/entrypoints': 'web, websecure' },
    read: (d) => d.config.http?.routers?.r.entryPoints,
    want: ['web', 'websecure'],
  },
  {
    name: 'tls = true and tls sub-keys, domains by index with sans by index',
    keys: {
      'traefik/http/routers/r/rule': 'Host(`a.example`)',
      'traefik/http/routers/r/tls': 'true',
      'traefik/http/routers/r/tls/certresolver': 'le',
      'traefik/http/routers/r/tls/domains/0/main': 'example.org',
      'traefik/http/routers/r/tls/domains/0/sans/0': 'a.example.org',
      'traefik/http/routers/r/tls/domains/0/sans/1': 'b.example.org',
    },
    read: (d) => d.config.http?.routers?.r.tls,
    want: { certResolver: 'le', domains: [{ main: 'example.org', sans: ['a.example.org', 'b.example.org'] }] },
  },
  {
    name: 'a service: servers by index, booleans and numbers from strings, health-check headers as a map keeping their names',
    keys: {
      'traefik/http/services/s/loadbalancer/servers/0/url': 'http://127.0.0.1:1',
      'traefik/http/services/s/loadbalancer/servers/1/url': 'http://127.0.0.1:2',
      'traefik/http/services/s/loadbalancer/servers/1/weight': '3',
      'traefik/http/services/s/loadbalancer/passhostheader': 'false',
      'traefik/http/services/s/loadbalancer/healthcheck/path': '/health',
      'traefik/http/services/s/loadbalancer/healthcheck/headers/X-Foo': 'bar',
      'traefik/http/services/s/loadbalancer/sticky/cookie/httpOnly': 'true',
    },
    read: (d) => d.config.http?.services?.s,
    want: {
      loadBalancer: {
        servers: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2', weight: 3 }],
        passHostHeader: false,
        healthCheck: { path: '/health', headers: { 'X-Foo': 'bar' } },
        sticky: { cookie: { httpOnly: true } },
      },
    },
  },
  {
    name: 'keys are case-insensitive: the first spelling of a name is kept, sections in any case',
    keys: { 'traefik/HTTP/Routers/Api/Rule': 'Path(`/a`)', 'traefik/http/routers/api/service': 's', 'traefik/http/serverstransports/t/insecureskipverify': 'true' },
    read: (d) => [d.config.http?.routers, d.config.http?.serversTransports],
    want: [{ Api: { rule: 'Path(`/a`)', service: 's' } }, { t: { insecureSkipVerify: true } }],
  },
  {
    name: 'a custom root key; keys outside it and other top-level keys are skipped (said once)',
    rootKey: 'portier/edge',
    keys: { 'portier/edge/http/routers/r/rule': 'Path(`/`)', 'portier/other/http/routers/x/rule': 'Path(`/x`)', 'portier/edge/acme/account': '{}' },
    read: (d) => Object.keys(d.config.http?.routers ?? {}),
    want: ['r'],
    notices: [/portier\/edge\/acme\/ are not dynamic configuration .*skipped/],
  },
  {
    name: 'empty path segments are dropped, as Traefik does',
    keys: { 'traefik//http/routers//r/rule': 'Path(`/`)' },
    read: (d) => d.config.http?.routers?.r.rule,
    want: 'Path(`/`)',
  },
  {
    name: 'a bad rule disables its router only, and the error names the key',
    keys: { 'traefik/http/routers/bad/rule': 'Host(`x`', 'traefik/http/routers/good/rule': 'Path(`/`)' },
    read: (d) => Object.keys(d.errors),
    want: ['routers.bad'],
    errors: { 'routers.bad': /^traefik\/http\/routers\/bad\/rule: / },
  },
  {
    name: 'an unknown key in a service names its key, with a suggestion',
    keys: { 'traefik/http/services/s/loadbalancer/servers/0/url': 'http://127.0.0.1:1', 'traefik/http/services/s/loadbalancer/passhostheadr': 'true' },
    errors: { 'services.s': /traefik\/http\/services\/s\/loadBalancer\/passhostheadr: unknown key \(did you mean passHostHeader\?\)/ },
  },
  {
    name: 'a non-number where a number goes is an error on that object',
    keys: { 'traefik/http/routers/r/rule': 'Path(`/`)', 'traefik/http/routers/r/priority': 'high' },
    errors: { 'routers.r': /traefik\/http\/routers\/r\/priority: expected a number/ },
  },
  {
    name: 'a value beside keys below it is ignored with a warning on the object (unless true)',
    keys: { 'traefik/http/routers/r/rule': 'Path(`/`)', 'traefik/http/routers/r/tls': 'maybe', 'traefik/http/routers/r/tls/options': 'modern' },
    read: (d) => d.config.http?.routers?.r.tls,
    want: { options: 'modern' },
    warnings: { 'routers.r': /key traefik\/http\/routers\/r\/tls: keys below it are set too/ },
  },
  {
    name: 'a middleware name with @ is refused on it',
    keys: { 'traefik/http/middlewares/a@b/stripprefix/prefixes/0': '/x' },
    errors: { 'middlewares.a@b': /may not contain "@"/ },
  },
  {
    name: 'an unknown section under http refuses the configuration as a whole (errors.file)',
    keys: { 'traefik/http/routerz/r/rule': 'Path(`/`)' },
    errors: { file: /^traefik\/http\/routerz: unknown key/ },
  },
];

t.test('KV keys → dynamic configuration', async (t) => {
  for (const c of cases) {
    const d = decodeKv(Object.entries(c.keys), c.rootKey ?? 'traefik');
    if (c.read) t.same(c.read(d), c.want, `${c.name}: value`);
    for (const [key, re] of Object.entries(c.errors ?? {})) t.ok(d.errors[key]?.some((e) => re.test(e)), `${c.name}: error on ${key} among ${JSON.stringify(d.errors)}`);
    if (!c.errors) t.same(d.errors, {}, `${c.name}: no error`);
    for (const [key, re] of Object.entries(c.warnings ?? {})) t.ok(d.warnings[key]?.some((w) => re.test(w)), `${c.name}: warning on ${key} among ${JSON.stringify(d.warnings)}`);
    for (const re of c.notices ?? []) t.ok(d.notices.some((n) => re.test(n)), `${c.name}: notice among ${JSON.stringify(d.notices)}`);
  }
});

t.test('middleware options from keys decode through the middleware\'s own decoder', async (t) => {
  const rows: { type: string; keys: Record<string, string>; want: Record<string, unknown> }[] = [
    { type: 'stripPrefix', keys: { 'prefixes/0': '/api', 'prefixes/1': '/v1' }, want: { prefixes: ['/api', '/v1'] } },
    { type: 'headers', keys: { 'customRequestHeaders/X-Script-Name': 'test', 'customResponseHeaders/X-Custom': 'yes' }, want: { customRequestHeaders: { 'X-Script-Name': 'test' } } },
    { type: 'retry', keys: { attempts: '4', initialInterval: '100ms' }, want: { attempts: 4 } },
    { type: 'redirectScheme', keys: { scheme: 'https', permanent: 'true' }, want: { scheme: 'https', permanent: true } },
  ];
  for (const row of rows) {
    const keys = Object.entries(row.keys).map(([k, v]) => [`traefik/http/middlewares/m/${row.type}/${k}`, v] as const);
    const d = decodeKv(keys, 'traefik');
    const config = d.config.http?.middlewares?.m as Record<string, unknown>;
    t.same(Object.keys(config), [row.type], `${row.type}: one type key`);
    const type = middlewareTypes.get(row.type.toLowerCase())!;
    const decoded = decodeAll(type.options, config[row.type], `http.middlewares.m.${row.type}`);
    t.same(decoded.errors.map((e) => e.message), [], `${row.type}: options decode`);
    t.match(decoded.value, row.want, `${row.type}: typed options`);
  }
});

t.test('keyOf turns a decoder path back into the key', async (t) => {
  const rows: [string, string][] = [
    ['http.routers.api.rule', 'traefik/http/routers/api/rule'],
    ['http.routers.api.tls.domains[0].sans[1]', 'traefik/http/routers/api/tls/domains/0/sans/1'],
  ];
  for (const [path, key] of rows) t.equal(keyOf('traefik', path), key, path);
  t.same(kvTree([], 'traefik').tree, {}, 'no keys: an empty configuration');
});
