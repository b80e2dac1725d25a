import t from 'tap';
import net from 'node:net';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startEchoBackend } from '../helpers/echo';
import { middlewareBench } from './middleware-fixtures';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function rawGet(url: string, host: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host, 'accept-encoding': 'gzip' }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

t.test('errors serves pages from another service for statuses in range', async (t) => {
  const pages = await startEchoBackend('pages');
  t.teardown(() => pages.close());
  const dead = await closedPort();
  const bench = await middlewareBench(
    t,
    {
      e4: { errors: { status: ['404'], service: 'pages', query: '/{status}.html' } },
      e5: { errors: { status: '500-599', service: 'pages', query: '/oops/{status}?from={url}' } },
      rewrite: { errors: { status: ['400-499'], statusRewrites: { '404': 410 }, service: 'pages', query: '/{status}-{originalStatus}.html' } },
      auth401: { errors: { status: ['401'], service: 'pages', query: '/login' } },
      auth: { basicAuth: { users: ['u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g='] } },
      gz: { compress: { minResponseBodyBytes: 0 } },
    },
    {
      e4: ['e4'],
      e5: ['e5'],
      rewrite: ['rewrite'],
      authpage: ['auth401', 'auth'],
      gone: { middlewares: ['e5'], service: 'dead' },
      zipped: ['gz', 'e4'],
    },
    {
      services: {
        pages: { loadBalancer: { servers: [{ url: pages.url }] } },
        dead: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${dead}` }] } },
      },
      backend: (req, res) => {
        const m = /^\/status\/(\d+)/.exec(req.url ?? '');
        if (!m) return false;
        res.writeHead(Number(m[1]), { 'content-type': 'text/plain', 'x-upstream-only': 'yes' });
        res.end(`upstream body ${m[1]}`);
        return true;
      },
    },
  );
  const cases = [
    { router: 'e4', method: 'GET', path: '/status/404', status: 404, page: '/404.html' },
    { router: 'e4', method: 'POST', path: '/status/404', status: 404, page: '/404.html' },
    { router: 'e4', method: 'GET', path: '/status/500', status: 500, page: undefined },
    { router: 'e4', method: 'GET', path: '/fine', status: 200, page: undefined },
    { router: 'e5', method: 'GET', path: '/status/503?a=1', status: 503, page: `/oops/503?from=${encodeURIComponent('/status/503?a=1')}` },
    { router: 'rewrite', method: 'GET', path: '/status/404', status: 410, page: '/410-404.html' },
    { router: 'rewrite', method: 'GET', path: '/status/403', status: 403, page: '/403-403.html' },
    { router: 'authpage', method: 'GET', path: '/', status: 401, page: '/login' },
    { router: 'gone', method: 'GET', path: '/', status: 502, page: '/oops/502?from=%2F' },
    // An outer compress still applies to the page that replaced the response.
    { router: 'zipped', method: 'GET', path: '/status/404', status: 404, page: '/404.html', gzip: true },
  ];
  for (const c of cases) {
    const what = `${c.method} ${c.router}${c.path}`;
    if (c.gzip) {
      const raw = await rawGet(`${bench.gw.url}${c.path}`, `${c.router}.test`);
      t.equal(raw.status, c.status, `${what}: status`);
      t.equal(raw.headers['content-encoding'], 'gzip', `${what}: page compressed`);
      t.equal((JSON.parse(gunzipSync(raw.body).toString()) as { url: string }).url, c.page, `${what}: page path`);
      continue;
    }
    const reply = await bench.send(c.router, c.path, { method: c.method });
    t.equal(reply.status, c.status, `${what}: status`);
    if (c.page === undefined) {
      t.notOk(reply.headers['x-backend'] === 'pages', `${what}: no error page`);
      continue;
    }
    t.equal(reply.headers['x-backend'], 'pages', `${what}: body from the pages service`);
    t.equal(reply.headers['x-upstream-only'], undefined, `${what}: upstream headers dropped`);
    const page = JSON.parse(reply.body) as { method: string; url: string };
    t.equal(page.url, c.page, `${what}: page path`);
    t.equal(page.method, 'GET', `${what}: page fetched with GET`);
  }
});

t.test('invalid errors options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      noservice: { errors: { status: ['500'] } },
      ghost: { errors: { status: ['500'], service: 'ghost' } },
      badstatus: { errors: { status: ['5xx'], service: 'echo' } },
      badrange: { errors: { status: ['599-500'], service: 'echo' } },
      badrewrite: { errors: { status: ['404'], service: 'echo', statusRewrites: { '404': 'gone' } } },
    },
    { noservice: ['noservice'], ghost: ['ghost'], badstatus: ['badstatus'], badrange: ['badrange'], badrewrite: ['badrewrite'] },
  );
  const cases = [
    { router: 'noservice', error: /errors\.service: is required/ },
    { router: 'ghost', error: /service ghost does not exist/ },
    { router: 'badstatus', error: /errors\.status\[0\]: expected a status or a range/ },
    { router: 'badrange', error: /errors\.status\[0\]: expected a status or a range/ },
    { router: 'badrewrite', error: /errors\.statusRewrites\.404: expected a status/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
