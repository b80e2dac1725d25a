import t from 'tap';
import { decodeAll } from '../../src/config/decode';
import { staticConfigDecoder } from '../../src/config/static';
import { decodeDynamic } from '../../src/dynamic/decode-dynamic';
import { configFromContainers } from '../../src/dynamic/labels';
import type { ContainerInfo } from '../../src/dynamic/container';
import type { DynamicConfig } from '../../src/dynamic/model';
import { compileUdp, newUdpCompileCache } from '../../src/udp/compile-udp';
import { RoundRobin, UdpServer, WeightedPicker } from '../../src/udp/balancer';
import { udpSummary } from '../../src/udp/summary';

t.test('entrypoint addresses and udp options', async (t) => {
  const cases: { ep: Record<string, unknown>; address?: string; timeout?: number; error?: RegExp; warning?: RegExp }[] = [
    { ep: { address: ':5353/udp' }, address: ':5353/udp', timeout: 3000 },
    { ep: { address: '127.0.0.1:53/UDP', udp: { timeout: '10s' } }, address: '127.0.0.1:53/udp', timeout: 10_000 },
    { ep: { address: '[::1]:53/udp' }, address: '[::1]:53/udp' },
    { ep: { address: ':8080/tcp' }, address: ':8080' },
    { ep: { address: ':8080' }, address: ':8080' },
    { ep: { address: ':53/sctp' }, error: /expected \[host\]:port\[\/tcp\|\/udp\]/ },
    { ep: { address: ':70000/udp' }, error: /port 70000 out of range/ },
    { ep: { address: ':53/udp', udp: { timeout: '0s' } }, error: /udp\.timeout: must be greater than zero/ },
    { ep: { address: ':53/udp', udp: { maxSessions: 0 } }, error: /udp\.maxSessions: expected at least 1/ },
    { ep: { address: ':53/udp', http: { middlewares: ['a'] } }, address: ':53/udp', warning: /entryPoints\.e\.http: applies to TCP entrypoints; this one is UDP/ },
    { ep: { address: ':80', udp: { timeout: '5s' } }, address: ':80', warning: /entryPoints\.e\.udp: applies to UDP entrypoints/ },
  ];
  for (const c of cases) {
    const d = decodeAll(staticConfigDecoder, { entryPoints: { e: c.ep } }, '');
    const name = JSON.stringify(c.ep);
    if (c.error) {
      t.match(d.errors.map((e) => e.message).join('\n'), c.error, `${name}: refused`);
      continue;
    }
    t.same(d.errors.map((e) => e.message), [], `${name}: accepted`);
    t.equal(d.value?.entryPoints.e.address, c.address, `${name}: address`);
    if (c.timeout !== undefined) t.equal(d.value?.entryPoints.e.udp.timeout, c.timeout, `${name}: timeout`);
    if (c.warning) t.match(d.warnings.map((w) => w.message).join('\n'), c.warning, `${name}: warned`);
    else t.same(d.warnings, [], `${name}: no warning`);
    if (c.address?.endsWith('/udp')) t.equal(d.value?.entryPoints.e.http, undefined, `${name}: no http options on a UDP entrypoint`);
  }
});

t.test('the udp section of a dynamic file: errors stay on their object', async (t) => {
  const cases: { name: string; udp: unknown; config?: unknown; errors?: Record<string, RegExp> }[] = [
    {
      name: "Traefik's documentation example",
      udp: { routers: { 'Router-1': { entryPoints: ['streaming'], service: 'service-1' } }, services: { 'service-1': { loadBalancer: { servers: [{ address: 'xx.xx.xx.xx:xx' }] } } } },
      errors: { 'udp.services.service-1': /servers\[0\]\.address: expected host:port/ },
    },
    {
      name: 'router and both service kinds',
      udp: { routers: { dns: { service: 'dns' } }, services: { a: { loadBalancer: { servers: [{ address: '10.0.0.1:53' }, { address: '[::1]:53' }, { address: 'dns.local:5353' }] } }, dns: { weighted: { services: [{ name: 'a', weight: 2 }, { name: 'b@docker' }] } } } },
      config: { udp: { routers: { dns: { service: 'dns' } }, services: { a: { loadBalancer: { servers: [{ address: '10.0.0.1:53' }, { address: '[::1]:53' }, { address: 'dns.local:5353' }] } }, dns: { weighted: { services: [{ name: 'a', weight: 2 }, { name: 'b@docker' }] } } } } },
    },
    { name: 'a rule is refused with a reason', udp: { routers: { r: { rule: 'HostSNI(`*`)', service: 's' } } }, errors: { 'udp.routers.r': /rule: UDP routers have no rule/ } },
    { name: 'unknown router key', udp: { routers: { r: { service: 's', priority: 3 } } }, errors: { 'udp.routers.r': /priority: unknown key/ } },
    { name: 'two kinds in one service', udp: { services: { s: { loadBalancer: { servers: [] }, weighted: { services: [] } } } }, errors: { 'udp.services.s': /expected exactly one of loadBalancer, weighted/ } },
    { name: 'a server weight (not in Traefik v3 UDP)', udp: { services: { s: { loadBalancer: { servers: [{ address: '127.0.0.1:1', weight: 2 }] } } } }, errors: { 'udp.services.s': /weight: unknown key/ } },
    { name: 'negative weight', udp: { services: { s: { weighted: { services: [{ name: 'a', weight: -1 }] } } } }, errors: { 'udp.services.s': /expected a weight of 0 or more/ } },
    { name: '@ in a name', udp: { routers: { 'a@b': { service: 's' } } }, errors: { 'udp.routers.a@b': /may not contain "@"/ } },
    { name: 'udp middlewares do not exist', udp: { middlewares: {} }, errors: { file: /udp\.middlewares: unknown key/ } },
  ];
  for (const c of cases) {
    const d = decodeDynamic({ udp: c.udp });
    if (c.config) t.same(d.config, c.config, `${c.name}: config`);
    const want = c.errors ?? {};
    t.same(Object.keys(d.errors).sort(), Object.keys(want).sort(), `${c.name}: errors on ${Object.keys(want).join(', ') || 'nothing'}`);
    for (const [key, re] of Object.entries(want)) t.match(d.errors[key]?.join('\n'), re, `${c.name}: ${key}`);
  }
});

t.test('UDP labels, as Traefik reads them', async (t) => {
  const c = (name: string, labels: Record<string, string>, extra: Partial<ContainerInfo> = {}): ContainerInfo => ({ id: name, name, labels, address: '127.0.0.1', ports: [5353], ready: true, ...extra });
  const cases: { name: string; containers: ContainerInfo[]; udp?: unknown; http?: unknown; errors?: Record<string, RegExp>; warnings?: Record<string, RegExp> }[] = [
    {
      name: 'router only: default service named after the container, at its port',
      containers: [c('dns', { 'traefik.udp.routers.dns.entrypoints': 'dns' })],
      udp: { routers: { dns: { entryPoints: ['dns'], service: 'dns' } }, services: { dns: { loadBalancer: { servers: [{ address: '127.0.0.1:5353' }] } } } },
      http: undefined,
    },
    {
      name: 'service port label; replicas merge their servers',
      containers: [
        c('a', { 'portier.udp.routers.r.service': 'svc', 'portier.udp.services.svc.loadbalancer.server.port': '53' }),
        c('b', { 'portier.udp.services.svc.loadbalancer.server.port': '53' }, { address: '127.0.0.2' }),
        c('down', { 'portier.udp.services.svc.loadbalancer.server.port': '53' }, { address: '127.0.0.3', ready: false }),
      ],
      udp: { routers: { r: { service: 'svc' } }, services: { svc: { loadBalancer: { servers: [{ address: '127.0.0.1:53' }, { address: '127.0.0.2:53' }] } } } },
    },
    {
      name: 'IPv6 container address in brackets',
      containers: [c('v6', { 'traefik.udp.routers.v6.entrypoints': 'dns' }, { address: 'fd00::5' })],
      udp: { services: { v6: { loadBalancer: { servers: [{ address: '[fd00::5]:5353' }] } } } },
    },
    {
      name: 'two services and a router without service',
      containers: [c('two', { 'traefik.udp.routers.r.entrypoints': 'dns', 'traefik.udp.services.x.loadbalancer.server.port': '1', 'traefik.udp.services.y.loadbalancer.server.port': '2' })],
      errors: { 'udp.routers.r': /no service label and container two defines 2 UDP services \(x, y\)/ },
    },
    {
      name: 'bad values and unknown keys are errors on their object',
      containers: [c('bad', { 'traefik.udp.routers.r.rule': 'HostSNI(`*`)', 'traefik.udp.services.s.loadbalancer.server.port': 'http', 'traefik.udp.services.s.loadbalancer.server.weight': '2' })],
      errors: { 'udp.routers.r': /traefik\.udp\.routers\.r\.rule: unknown key/, 'udp.services.s': /server\.port: expected a number[\s\S]*server\.weight: unknown key/ },
    },
    {
      name: 'udp and http labels together: both, the http default service stays',
      containers: [c('both', { 'traefik.udp.routers.u.entrypoints': 'dns', 'traefik.http.routers.h.rule': 'Host(`both.localhost`)' })],
      udp: { routers: { u: { service: 'both' } } },
      http: { routers: { h: { service: 'both' } } },
    },
    {
      name: 'udp middlewares do not exist: an unknown key on the container, and no automatic HTTP route',
      containers: [c('odd', { 'traefik.udp.middlewares.m.ipallowlist.sourcerange': '127.0.0.1' })],
      http: undefined,
      warnings: { odd: /label traefik\.udp\.middlewares\.m\.ipallowlist\.sourcerange: unknown key \(TCP labels configure routers, services and middlewares; UDP labels routers and services\), ignored/ },
    },
    {
      name: 'two containers define one router differently: the first is used, with a warning',
      containers: [c('a', { 'traefik.udp.routers.r.entrypoints': 'one' }), c('b', { 'traefik.udp.routers.r.entrypoints': 'two' })],
      udp: { routers: { r: { entryPoints: ['one'], service: 'a' } } },
      warnings: { 'udp.routers.r': /defined differently by containers a and b/ },
    },
  ];
  for (const k of cases) {
    const r = configFromContainers(k.containers, { prefixes: ['portier', 'traefik'], exposedByDefault: true });
    if (k.udp) t.match(r.config.udp, k.udp, `${k.name}: udp`);
    if ('http' in k) t.match(r.config.http, k.http, `${k.name}: http`);
    const errors = Object.fromEntries(Object.entries(r.errors).filter(([key]) => key.startsWith('udp.')));
    t.same(Object.keys(errors).sort(), Object.keys(k.errors ?? {}).sort(), `${k.name}: errors`);
    for (const [key, re] of Object.entries(k.errors ?? {})) t.match(errors[key]?.join('\n'), re, `${k.name}: ${key}`);
    for (const [key, re] of Object.entries(k.warnings ?? {})) t.match(r.warnings[key]?.join('\n'), re, `${k.name}: warning ${key}`);
  }
});

t.test('compile: one router per entrypoint, faults on their router', async (t) => {
  const eps = { dns: 'udp', syslog: 'udp', web: 'tcp' } as const;
  const lb = (...addresses: string[]) => ({ loadBalancer: { servers: addresses.map((address) => ({ address })) } });
  const cases: { name: string; config: DynamicConfig; routes: Record<string, string>; errors?: Record<string, RegExp>; warnings?: Record<string, RegExp> }[] = [
    { name: 'no entryPoints: every UDP entrypoint', config: { udp: { routers: { r: { service: 's' } }, services: { s: lb('127.0.0.1:1') } } }, routes: { dns: 'r@file', syslog: 'r@file' } },
    {
      name: 'two routers on one entrypoint: the last by name serves it',
      config: { udp: { routers: { a: { entryPoints: ['dns'], service: 's' }, b: { entryPoints: ['dns'], service: 's' }, c: { entryPoints: ['dns', 'syslog'], service: 's' } }, services: { s: lb('127.0.0.1:1') } } },
      routes: { dns: 'c@file', syslog: 'c@file' },
      errors: { 'a@file': /not served: entryPoint "dns" is served by UDP router c@file/, 'b@file': /not served/ },
    },
    {
      name: 'a broken router does not take the entrypoint',
      config: { udp: { routers: { z: { entryPoints: ['dns'], service: 'missing' }, a: { entryPoints: ['dns'], service: 's' } }, services: { s: lb('127.0.0.1:1') } } },
      routes: { dns: 'a@file' },
      errors: { 'z@file': /service missing@file does not exist/ },
    },
    {
      name: 'TCP and unknown entrypoints',
      config: { udp: { routers: { t: { entryPoints: ['web'], service: 's' }, m: { entryPoints: ['dns', 'nope'], service: 's' } }, services: { s: lb('127.0.0.1:1') } } },
      routes: { dns: 'm@file' },
      errors: { 't@file': /entryPoint "web" is not a UDP entrypoint[\s\S]*no valid UDP entryPoint/ },
      warnings: { 'm@file': /entryPoint "nope" does not exist/ },
    },
    {
      name: 'no service; a weighted cycle',
      config: { udp: { routers: { n: { entryPoints: ['dns'] }, w: { entryPoints: ['syslog'], service: 'loop' } }, services: { loop: { weighted: { services: [{ name: 'loop' }] } }, empty: lb() } } },
      routes: {},
      errors: { 'n@file': /the service is missing on the UDP router/, 'w@file': /weighted service cycle: loop@file -> loop@file/ },
    },
  ];
  for (const c of cases) {
    const table = compileUdp([{ provider: 'file', config: c.config }], { ...eps }, newUdpCompileCache());
    const routes = Object.fromEntries(Object.keys(eps).flatMap((ep) => { const r = table.route(ep); return r ? [[ep, r.router.name]] : []; }));
    t.same(routes, c.routes, `${c.name}: routes`);
    const errors = Object.fromEntries([...table.routers.values()].filter((r) => r.errors.length).map((r) => [r.name, r.errors.join('\n')]));
    t.same(Object.keys(errors).sort(), Object.keys(c.errors ?? {}).sort(), `${c.name}: routers in error`);
    for (const [name, re] of Object.entries(c.errors ?? {})) t.match(errors[name], re, `${c.name}: ${name}`);
    for (const [name, re] of Object.entries(c.warnings ?? {})) t.match(table.routers.get(name)?.warnings.join('\n'), re, `${c.name}: warning on ${name}`);
  }
});

t.test('balancers: round robin skips ejected servers; weights spread sessions', async (t) => {
  const [a, b, c] = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'].map((x) => new UdpServer(x));
  const rr = new RoundRobin([a, b, c]);
  const picks = (p: { pick(): UdpServer | undefined }, n: number): string => Array.from({ length: n }, () => p.pick()?.address.slice(-1)).join('');
  t.equal(picks(rr, 6), '123123');
  b.eject();
  t.equal(picks(rr, 4), '1313', 'an ejected server is skipped');
  t.same(rr.status(), { '127.0.0.1:1': 'UP', '127.0.0.1:2': 'DOWN', '127.0.0.1:3': 'UP' });
  a.eject();
  c.eject();
  t.equal(picks(rr, 3).length, 3, 'all ejected: still a server (a datagram may find it back)');
  const fresh = ['10.0.0.1:1', '10.0.0.2:1'].map((x) => new UdpServer(x));
  const w = new WeightedPicker([{ weight: 3, picker: new RoundRobin([fresh[0]]) }, { weight: 1, picker: new RoundRobin([fresh[1]]) }, { weight: 0, picker: new RoundRobin([c]) }, { weight: 5, picker: new RoundRobin([]) }]);
  t.equal(Array.from({ length: 8 }, () => w.pick()?.address.slice(7, 8)).join(''), '11211121', 'smooth 3:1, weight 0 and empty children never chosen');
});

t.test('the startup summary names each UDP entrypoint with its router, and disabled routers with their errors', async (t) => {
  const config: DynamicConfig = { udp: { routers: { dns: { entryPoints: ['dns'], service: 's' }, bad: { entryPoints: ['syslog'], service: 'gone' } }, services: { s: { loadBalancer: { servers: [{ address: '127.0.0.1:1' }, { address: '127.0.0.1:2' }] } } } } };
  const table = compileUdp([{ provider: 'file', config }], { dns: 'udp', syslog: 'udp' }, newUdpCompileCache());
  t.same(udpSummary(table, () => 5353), ['  ✗ bad@file (udp): service gone@file does not exist', '  udp :5353 (dns)  →  s@file (2 servers up)']);
});

t.test('a broken new definition keeps the last good one serving, said as a warning', async (t) => {
  const cache = newUdpCompileCache();
  const eps = { dns: 'udp' } as const;
  const good: DynamicConfig = { udp: { routers: { r: { entryPoints: ['dns'], service: 's' } }, services: { s: { loadBalancer: { servers: [{ address: '127.0.0.1:1' }] } } } } };
  const first = compileUdp([{ provider: 'file', config: good }], { ...eps }, cache);
  t.equal(first.route('dns')?.router.name, 'r@file');
  const cases: { name: string; config: DynamicConfig; errors?: Record<string, string[]>; object: string; warning: RegExp }[] = [
    {
      name: 'router now names a missing service',
      config: { udp: { ...good.udp, routers: { r: { entryPoints: ['dns'], service: 'gone' } } } },
      object: 'routers', warning: /service gone@file does not exist: new definition refused, the last good one keeps serving/,
    },
    {
      name: 'service now has a decode error (from its provider)',
      config: { udp: { ...good.udp, services: { s: { loadBalancer: { servers: [{ address: 'bad' }] } } } } },
      errors: { 'udp.services.s': ['udp.services.s.loadBalancer.servers[0].address: expected host:port'] },
      object: 'services', warning: /expected host:port: new definition refused/,
    },
  ];
  for (const c of cases) {
    const table = compileUdp([{ provider: 'file', config: c.config, errors: c.errors }], { ...eps }, cache);
    t.equal(table.route('dns')?.router.name, 'r@file', `${c.name}: still served`);
    const obj = c.object === 'routers' ? table.routers.get('r@file') : table.services.get('s@file');
    t.equal(obj?.status, 'warning', `${c.name}: warning status`);
    t.match(obj?.warnings.join('\n'), c.warning, `${c.name}: says why`);
    // Back to the good definition before the next case.
    compileUdp([{ provider: 'file', config: good }], { ...eps }, cache);
  }
  const fresh = compileUdp([{ provider: 'file', config: { udp: { routers: { n: { entryPoints: ['dns'], service: 'none' } } } } }], { ...eps }, newUdpCompileCache());
  t.equal(fresh.routers.get('n@file')?.status, 'disabled', 'without a good definition before, a broken router is disabled');
});
