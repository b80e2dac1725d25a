import t from 'tap';
import type { ContainerInfo } from '../../src/dynamic/container';
import { configFromContainers } from '../../src/dynamic/labels';

/**
 * Names that containers of different compose projects define: each project
 * keeps its own `<name>-<project>` when the definitions differ, references
 * resolve in the container's own project, everything else merges as before.
 */
function container(project: string | undefined, service: string, n: number, address: string, labels: Record<string, string> = {}, ready = true): ContainerInfo {
  const compose: Record<string, string> = project === undefined ? {} : { 'com.docker.compose.project': project, 'com.docker.compose.service': service, 'com.docker.compose.container-number': String(n) };
  const name = project === undefined ? service : `${project}-${service}-${n}`;
  return { id: `id-${name}`, name, labels: { ...compose, ...labels }, address, ports: [80], ready };
}

/** The copy-pasted label of the issue: every project's `web` names its service `web`. */
const PORT = { 'traefik.http.services.web.loadbalancer.server.port': '80' };
const url = (address: string): { url: string } => ({ url: `http://${address}:80` });

interface Case {
  name: string;
  containers: ContainerInfo[];
  /** Exact routers/services/middlewares maps under config.http (only the kinds given). */
  want: { routers?: Record<string, unknown>; services?: Record<string, unknown>; middlewares?: Record<string, unknown> };
  notices?: string[];
  /** Warnings that must be present (partial match); other warnings may exist only if listed. */
  warnings?: Record<string, RegExp[]>;
  errorKeys?: string[];
}

const lb = (...servers: { url: string }[]): unknown => ({ loadBalancer: { passHostHeader: true, servers } });

const cases: Case[] = [
  {
    name: 'two projects, same service name (the copy-pasted port label): each keeps its own, routers follow',
    containers: [
      container('shop', 'web', 1, '10.0.0.1', PORT),
      container('shop', 'web', 2, '10.0.0.2', PORT),
      container('blog', 'web', 1, '10.0.1.1', PORT),
    ],
    want: {
      services: { 'web-blog': lb(url('10.0.1.1')), 'web-shop': lb(url('10.0.0.1'), url('10.0.0.2')) },
      routers: {
        'web-blog': { rule: 'Host(`web.blog.localhost`)', service: 'web-blog' },
        'web-shop': { rule: 'Host(`web.shop.localhost`)', service: 'web-shop' },
      },
    },
    notices: [
      'service web: defined by projects blog and shop; scoped as web-blog, web-shop',
      'router web: defined by projects blog and shop; scoped as web-blog, web-shop',
    ],
  },
  {
    name: 'two projects whose containers are not ready yet: still split, so names do not change with health',
    containers: [container('shop', 'web', 1, '10.0.0.1', PORT, false), container('blog', 'web', 1, '10.0.1.1', PORT, false)],
    want: { services: { 'web-blog': lb(), 'web-shop': lb() } },
    notices: [
      'service web: defined by projects blog and shop; scoped as web-blog, web-shop',
      'router web: defined by projects blog and shop; scoped as web-blog, web-shop',
    ],
  },
  {
    name: 'two projects, same router name over their own services',
    containers: [
      container('shop', 'front', 1, '10.0.0.1', { 'traefik.http.routers.site.rule': 'Host(`shop.localhost`)' }),
      container('blog', 'front', 1, '10.0.1.1', { 'traefik.http.routers.site.rule': 'Host(`blog.localhost`)' }),
    ],
    want: {
      routers: { 'site-blog': { rule: 'Host(`blog.localhost`)', service: 'front-blog' }, 'site-shop': { rule: 'Host(`shop.localhost`)', service: 'front-shop' } },
      services: { 'front-shop': lb(url('10.0.0.1')), 'front-blog': lb(url('10.0.1.1')) },
    },
    notices: ['router site: defined by projects blog and shop; scoped as site-blog, site-shop'],
  },
  {
    name: 'two projects, same middleware name defined differently: routers use their own project\'s',
    containers: [
      container('shop', 'web', 1, '10.0.0.1', { 'traefik.http.routers.web.middlewares': 'auth', 'traefik.http.middlewares.auth.basicauth.users': 'shop:x' }),
      container('blog', 'web', 1, '10.0.1.1', { 'traefik.http.routers.web.middlewares': 'auth', 'traefik.http.middlewares.auth.basicauth.users': 'blog:y' }),
    ],
    want: {
      middlewares: { 'auth-blog': { basicauth: { users: 'blog:y' } }, 'auth-shop': { basicauth: { users: 'shop:x' } } },
      routers: {
        'web-blog': { middlewares: ['auth-blog'], rule: 'Host(`web.blog.localhost`)', service: 'web-blog' },
        'web-shop': { middlewares: ['auth-shop'], rule: 'Host(`web.shop.localhost`)', service: 'web-shop' },
      },
    },
    notices: [
      'middleware auth: defined by projects blog and shop; scoped as auth-blog, auth-shop',
      'router web: defined by projects blog and shop; scoped as web-blog, web-shop',
    ],
  },
  {
    name: 'two projects, identical middleware: one shared, as Traefik merges identical definitions',
    containers: [
      container('shop', 'web', 1, '10.0.0.1', { 'traefik.http.routers.web.middlewares': 'https', 'traefik.http.middlewares.https.redirectscheme.scheme': 'https' }),
      container('blog', 'web', 1, '10.0.1.1', { 'traefik.http.routers.web.middlewares': 'https', 'traefik.http.middlewares.https.redirectscheme.scheme': 'https' }),
    ],
    want: {
      middlewares: { https: { redirectscheme: { scheme: 'https' } } },
      routers: {
        'web-blog': { middlewares: ['https'], rule: 'Host(`web.blog.localhost`)', service: 'web-blog' },
        'web-shop': { middlewares: ['https'], rule: 'Host(`web.shop.localhost`)', service: 'web-shop' },
      },
    },
    notices: ['router web: defined by projects blog and shop; scoped as web-blog, web-shop'],
  },
  {
    name: 'two projects, identical service on the same server URL: shared, and so is the identical router',
    containers: [
      container('shop', 'docs', 1, '10.0.0.1', { 'traefik.http.services.docs.loadbalancer.server.url': 'http://10.9.9.9:8000', 'traefik.http.routers.docs.rule': 'Host(`docs.localhost`)' }),
      container('blog', 'docs', 1, '10.0.1.1', { 'traefik.http.services.docs.loadbalancer.server.url': 'http://10.9.9.9:8000', 'traefik.http.routers.docs.rule': 'Host(`docs.localhost`)' }),
    ],
    want: { services: { docs: lb({ url: 'http://10.9.9.9:8000' }) }, routers: { docs: { rule: 'Host(`docs.localhost`)', service: 'docs' } } },
    notices: [],
  },
  {
    name: 'conflict within one project: first container wins with a warning, servers merged, no scoping',
    containers: [
      container('shop', 'web', 1, '10.0.0.1', { ...PORT, 'traefik.http.services.web.loadbalancer.passhostheader': 'false' }),
      container('shop', 'web', 2, '10.0.0.2', PORT),
    ],
    want: {
      services: { web: { loadBalancer: { passHostHeader: false, servers: [url('10.0.0.1'), url('10.0.0.2')] } } },
      routers: { web: { rule: 'Host(`web.shop.localhost`)', service: 'web' } },
    },
    notices: [],
    warnings: { 'services.web': [/defined differently by containers shop-web-1 and shop-web-2: .*; using shop-web-1's/] },
  },
  {
    name: 'one project only: names as written',
    containers: [container('shop', 'web', 1, '10.0.0.1', PORT), container('shop', 'web', 2, '10.0.0.2', PORT)],
    want: { services: { web: lb(url('10.0.0.1'), url('10.0.0.2')) }, routers: { web: { rule: 'Host(`web.shop.localhost`)', service: 'web' } } },
    notices: [],
  },
  {
    name: 'a project and a container outside any project: a plain conflict, as before',
    containers: [container('shop', 'web', 1, '10.0.0.1', PORT), container(undefined, 'web', 0, '10.0.2.1', { ...PORT, 'traefik.http.routers.web.rule': 'Host(`web.localhost`)' })],
    want: { services: { web: lb(url('10.0.0.1'), url('10.0.2.1')) }, routers: { web: { rule: 'Host(`web.shop.localhost`)', service: 'web' } } },
    notices: [],
    warnings: { 'routers.web': [/defined differently by containers shop-web-1 and web/] },
  },
  {
    name: 'references resolve in the own project first, else to the bare name that containers outside a project keep',
    containers: [
      container('shop', 'web', 1, '10.0.0.1', PORT),
      container('blog', 'web', 1, '10.0.1.1', PORT),
      container(undefined, 'web', 0, '10.0.2.1', { ...PORT, 'traefik.http.routers.web.rule': 'Host(`web.localhost`)' }),
      container('news', 'front', 1, '10.0.3.1', { 'traefik.http.routers.news.rule': 'Host(`news.localhost`)', 'traefik.http.routers.news.service': 'web' }),
      container('blog', 'admin', 1, '10.0.1.2', { 'traefik.http.routers.admin.rule': 'Host(`admin.blog.localhost`)', 'traefik.http.routers.admin.service': 'web' }),
    ],
    want: {
      services: { web: lb(url('10.0.2.1')), 'web-blog': lb(url('10.0.1.1')), 'web-shop': lb(url('10.0.0.1')), 'front-news': lb(url('10.0.3.1')), 'admin-blog': lb(url('10.0.1.2')) },
      routers: {
        web: { rule: 'Host(`web.localhost`)', service: 'web' },
        'web-blog': { rule: 'Host(`web.blog.localhost`)', service: 'web-blog' },
        'web-shop': { rule: 'Host(`web.shop.localhost`)', service: 'web-shop' },
        news: { rule: 'Host(`news.localhost`)', service: 'web' },
        admin: { rule: 'Host(`admin.blog.localhost`)', service: 'web-blog' },
      },
    },
    notices: [
      'service web: defined by projects blog and shop; scoped as web-blog, web-shop; containers outside a project keep web',
      'router web: defined by projects blog and shop; scoped as web-blog, web-shop; containers outside a project keep web',
    ],
  },
  {
    name: 'a project that does not define a scoped name is told to pick one',
    containers: [
      container('shop', 'web', 1, '10.0.0.1', PORT),
      container('blog', 'web', 1, '10.0.1.1', PORT),
      container('news', 'front', 1, '10.0.3.1', { 'traefik.http.routers.news.rule': 'Host(`news.localhost`)', 'traefik.http.routers.news.service': 'web' }),
    ],
    want: { routers: {
      'web-blog': { rule: 'Host(`web.blog.localhost`)', service: 'web-blog' },
      'web-shop': { rule: 'Host(`web.shop.localhost`)', service: 'web-shop' },
      news: { rule: 'Host(`news.localhost`)', service: 'web' },
    } },
    warnings: { 'routers.news': [/^service web is defined per project \(web-blog, web-shop\), not by project news: name one of them$/] },
  },
  {
    name: 'errors stay on the project that made them',
    containers: [
      container('shop', 'web', 1, '10.0.0.1', { ...PORT, 'traefik.http.services.web.loadbalancer.passhostheader': 'maybe' }),
      container('blog', 'web', 1, '10.0.1.1', PORT),
    ],
    want: {
      services: { 'web-blog': lb(url('10.0.1.1')), 'web-shop': lb(url('10.0.0.1')) },
      routers: { 'web-blog': { rule: 'Host(`web.blog.localhost`)', service: 'web-blog' }, 'web-shop': { rule: 'Host(`web.shop.localhost`)', service: 'web-shop' } },
    },
    errorKeys: ['services.web-shop'],
  },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = configFromContainers(c.containers, { prefixes: ['portier', 'traefik'], exposedByDefault: true });
    for (const kind of ['routers', 'services', 'middlewares'] as const) {
      if (c.want[kind]) t.same(r.config.http?.[kind], c.want[kind], kind);
    }
    if (c.notices) t.same([...r.notices].sort(), [...c.notices].sort(), 'notices');
    t.same(Object.keys(r.errors).sort(), [...(c.errorKeys ?? [])].sort(), 'error keys');
    t.same(Object.keys(r.warnings).sort(), Object.keys(c.warnings ?? {}).sort(), 'warning keys');
    for (const [key, patterns] of Object.entries(c.warnings ?? {})) t.match(r.warnings[key], patterns, `warnings of ${key}`);
  });
}
