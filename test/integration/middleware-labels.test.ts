import t from 'tap';
import { configFromContainers } from '../../src/dynamic/labels';
import type { DynamicConfig } from '../../src/dynamic/model';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

const sha = '{SHA}ieSV55Qc+eQOaYDRSha/AjzNTJE='; // "demo"

/** Middlewares as a user writes them in a compose file's labels (after compose's `$$` unescaping). */
const labels: Record<string, string> = {
  'portier.http.routers.app.rule': 'Host(`app.test`)',
  'portier.http.routers.app.middlewares': 'secured',
  'portier.http.routers.app.service': 'app',
  'portier.http.routers.open.rule': 'Host(`open.test`)',
  'portier.http.routers.open.middlewares': 'strip,hdrs,limit',
  'portier.http.routers.open.service': 'app',
  'portier.http.routers.moved.rule': 'Host(`moved.test`)',
  'portier.http.routers.moved.middlewares': 'tohttps',
  'portier.http.routers.moved.service': 'app',
  'portier.http.middlewares.secured.chain.middlewares': 'lan,auth,strip',
  'portier.http.middlewares.lan.ipallowlist.sourcerange': '127.0.0.1/32, ::1',
  'portier.http.middlewares.auth.basicauth.users': `demo:${sha}`,
  'portier.http.middlewares.auth.basicauth.headerfield': 'X-User',
  'portier.http.middlewares.strip.stripprefix.prefixes': '/api,/v1',
  'portier.http.middlewares.hdrs.headers.customrequestheaders.X-Env': 'dev',
  'portier.http.middlewares.hdrs.headers.customresponseheaders.X-Frame-Options': 'SAMEORIGIN',
  'portier.http.middlewares.limit.ratelimit.average': '1',
  'portier.http.middlewares.limit.ratelimit.period': '1m',
  'portier.http.middlewares.limit.ratelimit.burst': '2',
  'portier.http.middlewares.tohttps.redirectscheme.scheme': 'https',
  'portier.http.middlewares.tohttps.redirectscheme.permanent': 'true',
};

/** The same configuration in the file provider's shape. */
function fileConfig(url: string): DynamicConfig {
  return {
    http: {
      routers: {
        app: { rule: 'Host(`app.test`)', middlewares: ['secured'], service: 'app' },
        open: { rule: 'Host(`open.test`)', middlewares: ['strip', 'hdrs', 'limit'], service: 'app' },
        moved: { rule: 'Host(`moved.test`)', middlewares: ['tohttps'], service: 'app' },
      },
      services: { app: { loadBalancer: { servers: [{ url }] } } },
      middlewares: {
        secured: { chain: { middlewares: ['lan', 'auth', 'strip'] } },
        lan: { ipAllowList: { sourceRange: ['127.0.0.1/32', '::1'] } },
        auth: { basicAuth: { users: [`demo:${sha}`], headerField: 'X-User' } },
        strip: { stripPrefix: { prefixes: ['/api', '/v1'] } },
        hdrs: { headers: { customRequestHeaders: { 'X-Env': 'dev' }, customResponseHeaders: { 'X-Frame-Options': 'SAMEORIGIN' } } },
        limit: { rateLimit: { average: 1, period: '1m', burst: 2 } },
        tohttps: { redirectScheme: { scheme: 'https', permanent: true } },
      },
    },
  };
}

t.test('labels and file configuration give the same behaviour', async (t) => {
  const echo = await startEchoBackend('app');
  t.teardown(() => echo.close());
  const parsed = configFromContainers(
    [{ id: 'c1', name: 'app', labels: { ...labels, 'portier.http.services.app.loadbalancer.server.port': String(echo.port) }, address: '127.0.0.1', ports: [echo.port], ready: true }],
    { prefixes: ['portier', 'traefik'], exposedByDefault: true },
  );
  t.same(parsed.errors, {}, 'the label parser accepts the labels');
  const fromLabels = await startTestGateway(parsed.config);
  t.teardown(() => fromLabels.close());
  const fromFile = await startTestGateway(fileConfig(echo.url));
  t.teardown(() => fromFile.close());

  const demo = `Basic ${Buffer.from('demo:demo').toString('base64')}`;
  const cases = [
    { host: 'app.test', path: '/api/x', headers: {}, expect: { status: 401 } },
    { host: 'app.test', path: '/api/x', headers: { authorization: demo }, expect: { status: 200, upstreamUrl: '/x', user: 'demo' } },
    { host: 'app.test', path: '/v1/y?z=1', headers: { authorization: demo }, expect: { status: 200, upstreamUrl: '/y?z=1', user: 'demo' } },
    { host: 'open.test', path: '/api/a', headers: {}, expect: { status: 200, upstreamUrl: '/a', frame: 'SAMEORIGIN', env: 'dev' } },
    { host: 'open.test', path: '/b', headers: {}, expect: { status: 200, upstreamUrl: '/b', frame: 'SAMEORIGIN', env: 'dev' } },
    { host: 'open.test', path: '/c', headers: {}, expect: { status: 429, retryAfter: '60' } },
    { host: 'moved.test', path: '/p?q=1', headers: {}, expect: { status: 301, location: 'https://moved.test/p?q=1' } },
    { host: 'moved.test', path: '/p', headers: {}, method: 'POST', expect: { status: 308, location: 'https://moved.test/p' } },
  ];
  const observe = async (url: string, c: (typeof cases)[number]): Promise<unknown> => {
    const r = await request(url + c.path, { host: c.host, headers: c.headers, method: c.method ?? 'GET' });
    const seen = r.headers['x-backend'] === 'app' ? (JSON.parse(r.body) as { url: string; headers: Record<string, string> }) : undefined;
    return {
      status: r.status,
      location: r.headers.location,
      frame: r.headers['x-frame-options'],
      retryAfter: r.headers['retry-after'],
      upstreamUrl: seen?.url,
      user: seen?.headers['x-user'],
      env: seen?.headers['x-env'],
    };
  };
  for (const c of cases) {
    const what = `${c.method ?? 'GET'} ${c.host}${c.path}${c.headers.authorization ? ' (authenticated)' : ''}`;
    const [byLabels, byFile] = [await observe(fromLabels.url, c), await observe(fromFile.url, c)];
    t.same(byLabels, byFile, `${what}: same from labels and file`);
    t.match(byFile, c.expect, `${what}: as documented`);
  }
});
