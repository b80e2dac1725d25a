import t from 'tap';
import type { ContainerInfo, LabelOptions } from '../../src/dynamic/container';
import { configFromContainers, type LabelResult } from '../../src/dynamic/labels';

const base: LabelOptions = { prefixes: ['portier', 'traefik'], exposedByDefault: true };

function plain(name: string, labels: Record<string, string> = {}, extra: Partial<ContainerInfo> = {}): ContainerInfo {
  return { id: `id-${name}`, name, labels, address: '127.0.0.1', ports: [80], ready: true, ...extra };
}

function compose(project: string, service: string, n: number, labels: Record<string, string> = {}, extra: Partial<ContainerInfo> = {}): ContainerInfo {
  const c = { 'com.docker.compose.project': project, 'com.docker.compose.service': service, 'com.docker.compose.container-number': String(n) };
  return plain(`${project}_${service}_${n}`, { ...c, ...labels }, extra);
}

interface Case {
  name: string;
  containers: ContainerInfo[];
  opts?: Partial<LabelOptions>;
  /** Partial match (tap's t.match: strings exact, RegExps match). */
  want: unknown;
  /** Dotted paths under config.http that must not exist (`routers.x`). */
  absent?: string[];
  /** Keys of errors that must be the only ones (default: no errors at all). */
  errorKeys?: string[];
  /** No warning may match this. */
  unwarned?: RegExp;
}

const L = (o: Record<string, string>) => o;

const cases: Case[] = [
  {
    name: 'whoami from the Traefik quick start',
    containers: [plain('whoami', L({ 'traefik.http.routers.whoami.rule': 'Host(`whoami.docker.localhost`)', 'traefik.http.routers.whoami.entrypoints': 'web' }))],
    want: { config: { http: { routers: { whoami: { rule: 'Host(`whoami.docker.localhost`)', entryPoints: ['web'], service: 'whoami' } }, services: { whoami: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:80' }], passHostHeader: true } } } } } },
  },
  {
    name: 'Traefik dashboard behind basic auth (Traefik docs)',
    containers: [compose('proxy', 'traefik', 1, L({
      'traefik.enable': 'true',
      'traefik.http.routers.dashboard.rule': 'Host(`traefik.localhost`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))',
      'traefik.http.routers.dashboard.service': 'api@internal',
      'traefik.http.routers.dashboard.middlewares': 'auth',
      'traefik.http.middlewares.auth.basicauth.users': 'test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/,test2:$apr1$d9hr9HBB$4HxwgUir3HP4EsggP/QNo0',
    }))],
    want: { config: { http: {
      routers: { dashboard: { service: 'api@internal', middlewares: ['auth'], rule: 'Host(`traefik.localhost`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))' } },
      middlewares: { auth: { basicauth: { users: 'test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/,test2:$apr1$d9hr9HBB$4HxwgUir3HP4EsggP/QNo0' } } },
    } } },
  },
  {
    name: 'homelab Portainer with a certificate resolver (v2 style)',
    containers: [plain('portainer', L({
      'traefik.enable': 'true',
      'traefik.http.routers.portainer.rule': 'Host(`portainer.home.localhost`)',
      'traefik.http.routers.portainer.entrypoints': 'websecure',
      'traefik.http.routers.portainer.tls.certresolver': 'letsencrypt',
      'traefik.http.services.portainer.loadbalancer.server.port': '9000',
    }), { ports: [8000, 9000, 9443] })],
    want: { config: { http: {
      routers: { portainer: { entryPoints: ['websecure'], tls: { certResolver: 'letsencrypt' }, service: 'portainer' } },
      services: { portainer: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9000' }] } } },
    } }, warnings: {} },
  },
  {
    name: 'plain container default rule',
    containers: [plain('my_app')],
    want: { config: { http: { routers: { 'my-app': { rule: 'Host(`my-app.localhost`)', service: 'my-app' } } } } },
  },
  {
    name: 'compose container default rule and Traefik service name',
    containers: [compose('shop', 'web', 1)],
    want: { config: { http: { routers: { 'web-shop': { rule: 'Host(`web.shop.localhost`)', service: 'web-shop' } } } } },
  },
  {
    name: 'two projects with the same layout get distinct names',
    containers: [compose('shop', 'web', 1, {}, { ports: [18081] }), compose('blog', 'web', 1, {}, { ports: [18082] })],
    want: {
      config: { http: {
        routers: { 'web-shop': { rule: 'Host(`web.shop.localhost`)' }, 'web-blog': { rule: 'Host(`web.blog.localhost`)' } },
        services: { 'web-shop': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:18081' }] } }, 'web-blog': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:18082' }] } } },
      } },
      warnings: {},
    },
  },
  {
    name: 'Go template: normalize .Name',
    containers: [compose('shop', 'web', 1)],
    opts: { defaultRule: 'Host(`{{ normalize .Name }}.docker.localhost`)' },
    want: { config: { http: { routers: { 'web-shop': { rule: 'Host(`web-shop.docker.localhost`)' } } } } },
  },
  {
    name: 'Go template: index .Labels and .ContainerName, pipes',
    containers: [compose('shop', 'api', 2)],
    opts: { defaultRule: 'Host(`{{ index .Labels "com.docker.compose.service" }}.{{ .ContainerName | normalize | upper }}.test`)' },
    want: { config: { http: { routers: { 'api-shop': { rule: 'Host(`api.SHOP-API-2.test`)' } } } } },
  },
  {
    name: 'Portier placeholders in a configured rule',
    containers: [compose('shop', 'web', 1)],
    opts: { defaultRule: 'Host(`{service}-{project}.dev.localhost`) || Host(`{name}.localhost`)' },
    want: { config: { http: { routers: { 'web-shop': { rule: 'Host(`web-shop.dev.localhost`) || Host(`shop-web-1.localhost`)' } } } } },
  },
  {
    name: 'unsupported template construct is a router error',
    containers: [plain('app')],
    opts: { defaultRule: 'Host(`{{ .Name | trunc 3 }}.localhost`)' },
    want: { config: { http: { routers: { app: { rule: '' } } } }, errors: { 'routers.app': [/unsupported template function "trunc"/] } },
    errorKeys: ['routers.app'],
  },
  {
    name: 'keys are case-insensitive, names keep their spelling',
    containers: [plain('c', L({ 'Traefik.HTTP.Routers.Api.RULE': 'Path(`/x`)', 'traefik.http.routers.api.EntryPoints': 'web,websecure', 'TRAEFIK.http.services.Api.LoadBalancer.Server.Port': '8080' }))],
    want: { config: { http: { routers: { Api: { rule: 'Path(`/x`)', entryPoints: ['web', 'websecure'], service: 'Api' } }, services: { Api: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:8080' }] } } } } } },
  },
  {
    name: 'portier prefix wins over traefik on conflict',
    containers: [plain('c', L({ 'traefik.http.routers.r.rule': 'Host(`t.localhost`)', 'portier.http.routers.r.rule': 'Host(`p.localhost`)', 'traefik.http.routers.r.priority': '7' }))],
    want: { config: { http: { routers: { r: { rule: 'Host(`p.localhost`)', priority: 7 } } } } },
  },
  {
    name: 'custom prefixes only read those',
    containers: [plain('c', L({ 'traefik.http.routers.r.rule': 'Host(`t.localhost`)', 'acme.http.routers.x.rule': 'Host(`x.localhost`)' }))],
    opts: { prefixes: ['acme'] },
    want: { config: { http: { routers: { x: { rule: 'Host(`x.localhost`)' } } } } },
    absent: ['routers.r'],
  },
  {
    name: 'every router key',
    containers: [plain('c', L({
      'traefik.http.routers.r.rule': 'Host(`a.localhost`)', 'traefik.http.routers.r.rulesyntax': 'v2', 'traefik.http.routers.r.entrypoints': 'websecure',
      'traefik.http.routers.r.middlewares': 'auth@file, strip', 'traefik.http.routers.r.service': 'api@internal', 'traefik.http.routers.r.priority': '-3',
      'traefik.http.routers.r.tls': 'true', 'traefik.http.routers.r.tls.certresolver': 'le', 'traefik.http.routers.r.tls.options': 'modern@file',
      'traefik.http.routers.r.tls.domains[0].main': 'a.localhost', 'traefik.http.routers.r.tls.domains[0].sans': 'b.localhost,c.localhost', 'traefik.http.routers.r.tls.domains[1].main': 'd.localhost',
    }))],
    want: { config: { http: { routers: { r: {
      rule: 'Host(`a.localhost`)', ruleSyntax: 'v2', entryPoints: ['websecure'], middlewares: ['auth@file', 'strip'], service: 'api@internal', priority: -3,
      tls: { certResolver: 'le', options: 'modern@file', domains: [{ main: 'a.localhost', sans: ['b.localhost', 'c.localhost'] }, { main: 'd.localhost' }] },
    } } } } },
  },
  {
    name: 'every service key',
    containers: [plain('c', L({
      'traefik.http.services.s.loadbalancer.server.port': '8443', 'traefik.http.services.s.loadbalancer.server.scheme': 'https', 'traefik.http.services.s.loadbalancer.server.weight': '3',
      'traefik.http.services.s.loadbalancer.passhostheader': 'false', 'traefik.http.services.s.loadbalancer.serverstransport': 'insecure@file',
      'traefik.http.services.s.loadbalancer.responseforwarding.flushinterval': '50ms',
      'traefik.http.services.s.loadbalancer.healthcheck.path': '/health', 'traefik.http.services.s.loadbalancer.healthcheck.interval': '10s',
      'traefik.http.services.s.loadbalancer.healthcheck.timeout': '3s', 'traefik.http.services.s.loadbalancer.healthcheck.port': '9000',
      'traefik.http.services.s.loadbalancer.healthcheck.hostname': 'h.localhost', 'traefik.http.services.s.loadbalancer.healthcheck.scheme': 'http',
      'traefik.http.services.s.loadbalancer.healthcheck.method': 'head', 'traefik.http.services.s.loadbalancer.healthcheck.status': '204',
      'traefik.http.services.s.loadbalancer.healthcheck.followredirects': 'false', 'traefik.http.services.s.loadbalancer.healthcheck.headers.X-Probe': 'yes',
      'traefik.http.services.s.loadbalancer.sticky.cookie.name': 'sid', 'traefik.http.services.s.loadbalancer.sticky.cookie.secure': 'true',
      'traefik.http.services.s.loadbalancer.sticky.cookie.httponly': 'true', 'traefik.http.services.s.loadbalancer.sticky.cookie.samesite': 'lax',
      'traefik.http.services.s.loadbalancer.sticky.cookie.maxage': '60', 'traefik.http.services.s.loadbalancer.sticky.cookie.path': '/',
    }))],
    want: { config: { http: { services: { s: { loadBalancer: {
      servers: [{ url: 'https://127.0.0.1:8443', weight: 3 }], passHostHeader: false, serversTransport: 'insecure@file', responseForwarding: { flushInterval: '50ms' },
      healthCheck: { path: '/health', interval: '10s', timeout: '3s', port: 9000, hostname: 'h.localhost', scheme: 'http', method: 'HEAD', status: 204, followRedirects: false, headers: { 'X-Probe': 'yes' } },
      sticky: { cookie: { name: 'sid', secure: true, httpOnly: true, sameSite: 'lax', maxAge: 60, path: '/' } },
    } } }, routers: { s: { service: 's' } } } } },
  },
  {
    name: 'sticky.cookie=true alone and server.url',
    containers: [plain('c', L({ 'traefik.http.services.s.loadbalancer.sticky.cookie': 'true', 'traefik.http.services.s.loadbalancer.server.url': 'http://127.0.0.2:9999' }))],
    want: { config: { http: { services: { s: { loadBalancer: { sticky: { cookie: {} }, servers: [{ url: 'http://127.0.0.2:9999' }] } } } } } },
  },
  {
    name: 'server.url with server.preservepath',
    containers: [plain('c', L({ 'traefik.http.services.s.loadbalancer.server.url': 'http://127.0.0.2:9999/api', 'traefik.http.services.s.loadbalancer.server.preservepath': 'true' }))],
    want: { config: { http: { services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.2:9999/api', preservePath: true }] } } } } } },
  },
  {
    name: 'redirect-to-https middleware stack (homelab style)',
    containers: [plain('nextcloud', L({
      'traefik.enable': 'true',
      'traefik.http.routers.nc.rule': 'Host(`cloud.localhost`)', 'traefik.http.routers.nc.entrypoints': 'web', 'traefik.http.routers.nc.middlewares': 'https-redirect',
      'traefik.http.routers.nc-secure.rule': 'Host(`cloud.localhost`)', 'traefik.http.routers.nc-secure.entrypoints': 'websecure', 'traefik.http.routers.nc-secure.tls': 'true',
      'traefik.http.middlewares.https-redirect.redirectscheme.scheme': 'https', 'traefik.http.middlewares.https-redirect.redirectscheme.permanent': 'true',
      'traefik.http.services.nc.loadbalancer.server.port': '11000',
    }))],
    want: { config: { http: {
      routers: { nc: { service: 'nc', middlewares: ['https-redirect'] }, 'nc-secure': { service: 'nc', tls: {} } },
      middlewares: { 'https-redirect': { redirectscheme: { scheme: 'https', permanent: 'true' } } },
      services: { nc: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:11000' }] } } },
    } } },
  },
  {
    name: 'middleware options nested and indexed, header names kept',
    containers: [plain('c', L({
      'traefik.http.middlewares.h.headers.customRequestHeaders.X-Script-Name': 'test', 'traefik.http.middlewares.h.Headers.customRequestHeaders.X-Other': '',
      'traefik.http.middlewares.h.headers.accesscontrolallowmethods': 'GET,OPTIONS',
      'traefik.http.middlewares.s.stripprefix.prefixes[0]': '/a', 'traefik.http.middlewares.s.stripprefix.prefixes[1]': '/b',
      'traefik.http.middlewares.ip.ipallowlist.ipstrategy.excludedips': '127.0.0.1/32',
      'traefik.http.middlewares.ct.contenttype': 'true',
    }))],
    want: { config: { http: { middlewares: {
      h: { headers: { customRequestHeaders: { 'X-Script-Name': 'test', 'X-Other': '' }, accesscontrolallowmethods: 'GET,OPTIONS' } },
      s: { stripprefix: { prefixes: { 0: '/a', 1: '/b' } } },
      ip: { ipallowlist: { ipstrategy: { excludedips: '127.0.0.1/32' } } },
      ct: { contenttype: {} },
    } } } },
  },
  {
    name: 'a middleware with two types is an error, others work',
    containers: [plain('c', L({ 'traefik.http.middlewares.bad.stripprefix.prefixes': '/a', 'traefik.http.middlewares.bad.addprefix.prefix': '/b', 'traefik.http.middlewares.ok.addprefix.prefix': '/v1' }))],
    want: { config: { http: { middlewares: { ok: { addprefix: { prefix: '/v1' } } }, routers: { c: {} } } }, errors: { 'middlewares.bad': [/more than one middleware type/] } },
    absent: ['middlewares.bad'],
    errorKeys: ['middlewares.bad'],
  },
  {
    name: 'misspelled router key marks only that router',
    containers: [plain('c', L({ 'traefik.http.routers.api.rulez': 'Host(`x`)', 'traefik.http.routers.web.rule': 'Host(`web.localhost`)', 'traefik.http.services.svc.loadbalancer.server.port': '81' }))],
    want: {
      config: { http: { routers: { api: { rule: 'Host(`c.localhost`)', service: 'svc' }, web: { rule: 'Host(`web.localhost`)', service: 'svc' } } } },
      errors: { 'routers.api': ['label traefik.http.routers.api.rulez: unknown key (did you mean rule?)'] },
    },
    errorKeys: ['routers.api'],
  },
  {
    name: 'non-numeric port marks the service, router still present',
    containers: [plain('c', L({ 'traefik.http.services.s.loadbalancer.server.port': 'eighty', 'traefik.http.routers.r.rule': 'Host(`r.localhost`)' }))],
    want: { config: { http: { routers: { r: { service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:80' }] } } } } }, errors: { 'services.s': [/label traefik\.http\.services\.s\.loadbalancer\.server\.port: expected a number/] } },
    errorKeys: ['services.s'],
  },
  {
    name: 'an @ in a name is an error for that object only',
    containers: [plain('c', L({ 'traefik.http.routers.a@b.rule': 'Host(`a.localhost`)', 'traefik.http.routers.ok.rule': 'Host(`ok.localhost`)' }))],
    want: { config: { http: { routers: { ok: { service: 'c' } } } }, errors: { 'routers.a@b': [/"@" is not allowed/] } },
    absent: ['routers.a@b'],
    errorKeys: ['routers.a@b'],
  },
  {
    name: 'router without service and two services is an error',
    containers: [plain('c', L({ 'traefik.http.routers.r.rule': 'Host(`r.localhost`)', 'traefik.http.services.a.loadbalancer.server.port': '1', 'traefik.http.services.b.loadbalancer.server.port': '2' }))],
    want: { config: { http: { routers: { r: { rule: 'Host(`r.localhost`)' } }, services: { a: {}, b: {} } } }, errors: { 'routers.r': [/defines 2 services \(a, b\)/] } },
    errorKeys: ['routers.r'],
  },
  {
    name: 'two services and no router: no default router, a warning',
    containers: [plain('c', L({ 'traefik.http.services.a.loadbalancer.server.port': '1', 'traefik.http.services.b.loadbalancer.server.port': '2' }))],
    want: { warnings: { c: [/no default router/] } },
    absent: ['routers.a', 'routers.b'],
  },
  {
    name: 'enable=false and exposedByDefault=false',
    containers: [plain('off', L({ 'traefik.enable': 'false' })), plain('quiet'), plain('on', L({ 'portier.enable': 'true' }))],
    opts: { exposedByDefault: false },
    want: { config: { http: { routers: { on: {} } } } },
    absent: ['routers.off', 'routers.quiet'],
  },
  {
    name: 'a bad enable value is a container error',
    containers: [plain('bad', L({ 'traefik.enable': 'yes' })), plain('good')],
    want: { config: { http: { routers: { good: {} } } }, errors: { bad: [/traefik\.enable: expected true or false/] } },
    absent: ['routers.bad'],
    errorKeys: ['bad'],
  },
  {
    name: 'constraints: Label, LabelRegex, &&, ||, !, parentheses',
    containers: [
      plain('a', L({ env: 'prod', team: 'web' })), plain('b', L({ env: 'dev', team: 'web' })),
      plain('c', L({ env: 'prod', team: 'ops' })), plain('d', L({ env: 'staging' })),
    ],
    opts: { constraints: '(Label(`env`,`prod`) && !Label(`team`, `ops`)) || LabelRegex(`env`, `^stag`)' },
    want: { config: { http: { routers: { a: {}, d: {} } } } },
    absent: ['routers.b', 'routers.c'],
  },
  {
    name: 'a broken constraint routes nothing and says why',
    containers: [plain('a')],
    opts: { constraints: 'Label(`env`, `prod`' },
    want: { config: {}, errors: { constraints: [/expected "\)"/] } },
    errorKeys: ['constraints'],
  },
  {
    name: 'port: single exposed, lowest of several with a warning, none is an error',
    containers: [plain('one', {}, { ports: [3000] }), plain('many', {}, { ports: [9090, 8080] }), plain('none', {}, { ports: [] })],
    want: {
      config: { http: { services: { one: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:3000' }] } }, many: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:8080' }] } }, none: { loadBalancer: { servers: [] } } } } },
      warnings: { 'services.many': [/exposes ports 8080, 9090: using 8080/] },
      errors: { 'services.none': [/exposes no port: set label portier\.http\.services\.none\.loadbalancer\.server\.port/] },
    },
    errorKeys: ['services.none'],
  },
  {
    name: 'three replicas: one service, three servers, one router',
    containers: [3, 1, 2].map((n) => compose('shop', 'api', n, {}, { ports: [18080 + n] })),
    want: { config: { http: { routers: { 'api-shop': { rule: 'Host(`api.shop.localhost`)' } }, services: { 'api-shop': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:18081' }, { url: 'http://127.0.0.1:18082' }, { url: 'http://127.0.0.1:18083' }] } } } } }, warnings: {} },
  },
  {
    name: 'replicas that disagree: lowest number wins, warning names both',
    containers: [
      compose('shop', 'api', 2, L({ 'traefik.http.routers.api.rule': 'Host(`new.localhost`)', 'traefik.http.services.api.loadbalancer.server.port': '18082' })),
      compose('shop', 'api', 1, L({ 'traefik.http.routers.api.rule': 'Host(`old.localhost`)', 'traefik.http.services.api.loadbalancer.server.port': '18081' })),
    ],
    want: {
      config: { http: { routers: { api: { rule: 'Host(`old.localhost`)' } }, services: { api: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:18081' }, { url: 'http://127.0.0.1:18082' }] } } } } },
      warnings: { 'routers.api': [/containers shop_api_1 and shop_api_2: .*old\.localhost.* vs .*new\.localhost.*; using shop_api_1's/] },
    },
  },
  {
    name: 'two containers define one middleware differently: kept, warned',
    containers: [
      plain('b', L({ 'traefik.http.middlewares.auth.basicauth.users': 'bob:x' })),
      plain('a', L({ 'traefik.http.middlewares.auth.basicauth.users': 'alice:y' })),
    ],
    want: { config: { http: { middlewares: { auth: { basicauth: { users: 'alice:y' } } } } }, warnings: { 'middlewares.auth': [/containers a and b/] } },
  },
  {
    name: 'not-ready containers: service with zero servers, router kept',
    containers: [compose('shop', 'web', 1, {}, { ready: false, health: 'starting' }), compose('shop', 'db', 1, {}, { ready: true, ports: [5432] })],
    want: { config: { http: { routers: { 'web-shop': {}, 'db-shop': {} }, services: { 'web-shop': { loadBalancer: { servers: [] } }, 'db-shop': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:5432' }] } } } } } },
  },
  {
    name: 'only ready replicas are servers',
    containers: [compose('shop', 'api', 1, {}, { ports: [1001] }), compose('shop', 'api', 2, {}, { ports: [1002], ready: false, health: 'unhealthy' })],
    want: { config: { http: { services: { 'api-shop': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1001' }] } } } } } },
  },
  {
    name: 'tcp labels make TCP routers; alone they suppress the default http router',
    containers: [
      plain('db', L({ 'traefik.tcp.routers.pg.rule': 'HostSNI(`*`)', 'traefik.tcp.services.pg.loadbalancer.server.port': '5432', 'traefik.udp.routers.dns.entrypoints': 'dns' })),
      plain('mixed', L({ 'traefik.http.routers.ui.rule': 'Host(`ui.localhost`)', 'traefik.tcp.routers.raw.rule': 'HostSNI(`*`)' })),
    ],
    want: {
      config: {
        http: { routers: { ui: { service: 'mixed' } } },
        tcp: { routers: { pg: { rule: 'HostSNI(`*`)', service: 'pg' }, raw: { rule: 'HostSNI(`*`)', service: 'mixed' } }, services: { pg: { loadBalancer: { servers: [{ address: /:5432$/ }] } } } },
      },
    },
    absent: ['routers.db', 'services.db'],
  },
  {
    name: 'provider labels are not errors; unknown top-level keys warn',
    containers: [plain('c', L({ 'traefik.docker.network': 'proxy', 'traefik.swarm.lbswarm': 'true', 'traefik.frontend.rule': 'Host:old' }))],
    want: { config: { http: { routers: { c: {} } } }, warnings: { c: [/label traefik\.frontend\.rule: unknown key/] } },
    unwarned: /docker|swarm/,
  },
  {
    name: 'the four provider keys read under any prefix and spelling do not warn',
    containers: [plain('c', L({ 'portier.docker.network': 'a', 'traefik.Docker.LBSwarm': 'true', 'traefik.swarm.network': 'b', 'portier.swarm.lbswarm': 'false' }))],
    want: { config: { http: { routers: { c: {} } } } },
    unwarned: /./,
  },
  {
    name: 'other docker.* and swarm.* keys are unknown: warned, not read',
    containers: [plain('c', L({ 'traefik.docker.allownonrunning': 'true', 'portier.swarm.network.name': 'x', 'traefik.docker.network': 'proxy' }))],
    want: {
      config: { http: { routers: { c: {} } } },
      warnings: { c: [/^label portier\.swarm\.network\.name: unknown key, ignored$/, /^label traefik\.docker\.allownonrunning: unknown key, ignored$/] },
    },
    unwarned: /docker\.network/,
  },
  {
    name: 'IPv6 address is bracketed',
    containers: [plain('v6', {}, { address: '::1', ports: [8080] })],
    want: { config: { http: { services: { v6: { loadBalancer: { servers: [{ url: 'http://[::1]:8080' }] } } } } } },
  },
  {
    name: 'ignored Traefik keys warn; bad values error with the label',
    containers: [plain('c', L({
      'traefik.http.routers.r.observability.metrics': 'false', 'traefik.http.routers.r.priority': 'high', 'traefik.http.routers.r.tls.domains[0].sans': 'x.localhost',
      'traefik.http.services.s.loadbalancer.healthcheck.interval': 'soon', 'traefik.http.services.s.loadbalancer.server.prot': '80',
    }))],
    want: {
      warnings: { 'routers.r': [/observability\.metrics: per-router observability is not supported, ignored/] },
      errors: {
        'routers.r': [/routers\.r\.priority: expected a number/, /tls\.domains\[0\]\.sans: tls\.domains\[0\] has no main/],
        'services.s': [/healthcheck\.interval: expected a duration/, /server\.prot: unknown key \(did you mean loadbalancer\.server\.port\?\)/, /also needs loadbalancer\.healthcheck\.path/],
      },
    },
    errorKeys: ['routers.r', 'services.s'],
  },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const r: LabelResult = configFromContainers(c.containers, { ...base, ...c.opts });
    t.match(r, c.want as object, 'result matches');
    for (const p of c.absent ?? []) {
      const [kind, name] = [p.slice(0, p.indexOf('.')), p.slice(p.indexOf('.') + 1)];
      const objs = (r.config.http as Record<string, Record<string, unknown> | undefined> | undefined)?.[kind] ?? {};
      t.notOk(name in objs, `${p} is absent`);
    }
    t.same(Object.keys(r.errors).sort(), [...(c.errorKeys ?? [])].sort(), 'error keys');
    if (c.unwarned) t.same(Object.values(r.warnings).flat().filter((w) => c.unwarned!.test(w)), [], `no warning matches ${c.unwarned}`);
  });
}
