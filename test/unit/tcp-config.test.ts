import t from 'tap';
import { decodeDynamic } from '../../src/dynamic/decode-dynamic';
import { configFromContainers } from '../../src/dynamic/labels';
import type { ContainerInfo } from '../../src/dynamic/container';

/** The `tcp` schema from a file and from labels: each mistake local to its object, as users see it. */
t.test('file: the tcp section decodes per object', async (t) => {
  const d = decodeDynamic({
    tcp: {
      routers: {
        ok: { rule: 'HostSNI(`a.test`)', service: 's', tls: { passthrough: true } },
        typo: { rule: 'HostSNI(`*`)', service: 's', entrypoint: ['x'] },
        badrule: { rule: 'Host(`a`)', service: 's' },
      },
      services: {
        s: { loadBalancer: { servers: [{ address: '127.0.0.1:5432' }], proxyProtocol: { version: 2 } } },
        bad: { loadBalancer: { servers: [{ address: 'nohost' }] } },
        w: { weighted: { services: [{ name: 's', weight: 2 }] } },
      },
      middlewares: { allow: { ipAllowList: { sourceRange: ['127.0.0.1/32'] } }, odd: { stripPrefix: {} } },
      serversTransports: { st: { dialTimeout: '5s', terminationDelay: '-1s', proxyProtocol: { version: 1 }, tls: { serverName: 'db' } }, worse: { dialTimeout: 'soon' } },
    },
  });
  const cases: [string, RegExp | undefined][] = [
    ['tcp.routers.ok', undefined],
    ['tcp.routers.typo', /tcp\.routers\.typo\.entrypoint: unknown key \(did you mean entryPoints\?\)/],
    ['tcp.routers.badrule', /tcp\.routers\.badrule\.rule: Host is an HTTP matcher/],
    ['tcp.services.s', undefined],
    ['tcp.services.bad', /servers\[0\]\.address: expected host:port/],
    ['tcp.services.w', undefined],
    ['tcp.middlewares.allow', undefined],
    ['tcp.middlewares.odd', /unknown TCP middleware type/],
    ['tcp.serversTransports.st', undefined],
    ['tcp.serversTransports.worse', /dialTimeout/],
  ];
  for (const [key, error] of cases) {
    if (error) t.match(d.errors[key]?.join('\n'), error, `${key}: its own error`);
    else t.notOk(d.errors[key], `${key}: no error`);
  }
  t.match(d.warnings['tcp.services.s']?.join(), /proxyProtocol: deprecated in Traefik v3/, 'the load balancer\'s proxyProtocol is accepted with a warning');
  t.same(d.config.tcp?.routers?.ok, { rule: 'HostSNI(`a.test`)', service: 's', tls: { passthrough: true } });
  t.notOk(d.errors.file, 'the file itself stands');
});

const container = (name: string, labels: Record<string, string>, port = 6379): ContainerInfo => ({ id: name, name, labels, address: '127.0.0.1', ports: [port], ready: true });
const opts = { prefixes: ['portier', 'traefik'], exposedByDefault: true };

t.test('labels: TCP routers, services and middlewares', async (t) => {
  const r = configFromContainers([
    container('cache', {
      'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'cache',
      'traefik.tcp.routers.cache.rule': 'HostSNI(`cache.shop.localhost`)',
      'traefik.tcp.routers.cache.tls': 'true',
      'traefik.tcp.routers.cache.middlewares': 'local',
      'traefik.tcp.services.cache.loadbalancer.server.port': '7000',
      'portier.tcp.middlewares.local.ipallowlist.sourcerange': '127.0.0.1/32',
    }),
    container('db', { 'traefik.tcp.routers.db.rule': 'HostSNI(`*`)', 'traefik.tcp.routers.db.entrypoints': 'pg' }, 5432),
    container('broken', { 'traefik.tcp.routers.b.tls.passthrough': 'maybe', 'traefik.tcp.routers.b.rule': 'HostSNI(`*`)' }),
  ], opts);
  t.same(r.config.tcp?.routers?.cache, { rule: 'HostSNI(`cache.shop.localhost`)', tls: {}, middlewares: ['local'], service: 'cache' });
  t.same(r.config.tcp?.services?.cache, { loadBalancer: { servers: [{ address: '127.0.0.1:7000' }] } }, 'the server is the container address and the port label');
  t.same(r.config.tcp?.services?.db, { loadBalancer: { servers: [{ address: '127.0.0.1:5432' }] } }, 'no service label: one named after the container, on its port');
  t.equal(r.config.tcp?.routers?.db?.service, 'db');
  t.same(r.config.tcp?.middlewares?.local, { ipallowlist: { sourcerange: '127.0.0.1/32' } });
  t.match(r.errors['tcp.routers.b']?.join(), /traefik\.tcp\.routers\.b\.tls\.passthrough: expected true or false, got "maybe"/, 'a bad label: an error on its router only');
  t.notOk(r.config.http?.routers?.['cache-shop'] ?? r.config.http?.routers?.cache, 'a container with only TCP labels gets no HTTP router');
  t.notOk(r.config.http?.services?.['cache-shop'], 'nor an HTTP service');
});
