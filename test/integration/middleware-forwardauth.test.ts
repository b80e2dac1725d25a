import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import { middlewareBench } from './middleware-fixtures';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

async function authServer(t: Test): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const auth = req.headers.authorization;
    if (auth === 'Bearer good') {
      res.writeHead(200, {
        'x-auth-user': 'alice',
        'x-auth-role': 'admin',
        'x-secret': 'internal',
        'set-cookie': ['session=abc; Path=/', 'other=zzz'],
      });
      res.end();
    } else if (auth === 'Bearer redirect') {
      res.writeHead(302, { location: '/login?next=1' });
      res.end();
    } else {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="auth"', 'content-type': 'text/plain' });
      res.end('denied by auth');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, seen };
}

t.test('forwardAuth asks the auth server and forwards or returns its answer', async (t) => {
  const auth = await authServer(t);
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const bench = await middlewareBench(
    t,
    {
      fa: {
        forwardAuth: {
          address: `${auth.url}/verify`,
          authResponseHeaders: ['X-Auth-User'],
          authResponseHeadersRegex: '^X-Auth-R',
          addAuthCookiesToResponse: ['session'],
        },
      },
      keep: { forwardAuth: { address: `${auth.url}/verify`, preserveLocationHeader: true, preserveRequestMethod: true, authRequestHeaders: ['Authorization'] } },
      down: { forwardAuth: { address: `http://127.0.0.1:${deadPort}/` } },
    },
    { fa: ['fa'], keep: ['keep'], down: ['down'] },
  );
  const cases = [
    {
      name: 'allowed: chosen auth headers copied onto the request, a client-forged one replaced',
      router: 'fa', method: 'GET', path: '/p?q=1', headers: { authorization: 'Bearer good', 'x-auth-user': 'mallory' },
      status: 200, upstream: { 'x-auth-user': 'alice', 'x-auth-role': 'admin', 'x-secret': undefined },
      response: { 'set-cookie': ['session=abc; Path=/'] },
      authSaw: { method: 'GET', url: '/verify', headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/p?q=1', 'x-forwarded-host': 'fa.test', 'x-forwarded-proto': 'http' } },
    },
    {
      name: 'denied: the auth server answer goes back as is',
      router: 'fa', method: 'POST', path: '/p', headers: { authorization: 'Bearer bad' },
      status: 401, upstream: null, body: 'denied by auth', response: { 'www-authenticate': 'Bearer realm="auth"' },
      authSaw: { method: 'GET', url: '/verify', headers: { 'x-forwarded-method': 'POST' } },
    },
    {
      name: 'a relative redirect from the auth server is made absolute',
      router: 'fa', method: 'GET', path: '/', headers: { authorization: 'Bearer redirect' },
      status: 302, upstream: null, response: { location: `${auth.url}/login?next=1` }, authSaw: {},
    },
    {
      name: 'preserveLocationHeader, preserveRequestMethod, authRequestHeaders',
      router: 'keep', method: 'DELETE', path: '/', headers: { authorization: 'Bearer redirect', 'x-extra': '1' },
      status: 302, upstream: null, response: { location: '/login?next=1' },
      authSaw: { method: 'DELETE', headers: { 'x-extra': undefined, authorization: 'Bearer redirect' } },
    },
    { name: 'auth server unreachable', router: 'down', method: 'GET', path: '/', headers: {}, status: 500, upstream: null, response: {}, authSaw: null },
  ];
  for (const c of cases) {
    const before = auth.seen.length;
    const reply = await bench.send(c.router, c.path, { method: c.method, headers: c.headers });
    t.equal(reply.status, c.status, `${c.name}: status`);
    const seen = bench.echoed(reply);
    if (c.upstream === null) t.equal(seen, undefined, `${c.name}: not forwarded`);
    else for (const [k, v] of Object.entries(c.upstream)) t.equal(seen?.headers[k], v, `${c.name}: upstream ${k}`);
    for (const [k, v] of Object.entries(c.response)) t.same(reply.headers[k], v, `${c.name}: response ${k}`);
    if (c.body !== undefined) t.equal(reply.body, c.body, `${c.name}: body`);
    if (c.authSaw === null) continue;
    const asked = auth.seen[before];
    t.ok(asked, `${c.name}: auth server asked`);
    if (c.authSaw.method) t.equal(asked?.method, c.authSaw.method, `${c.name}: auth method`);
    if ('url' in c.authSaw) t.equal(asked?.url, c.authSaw.url, `${c.name}: auth url`);
    for (const [k, v] of Object.entries(c.authSaw.headers ?? {})) t.equal(asked?.headers[k], v, `${c.name}: auth saw ${k}`);
  }
  const body = 'y'.repeat(100_000);
  const post = await bench.send('fa', '/upload', { method: 'POST', body, headers: { authorization: 'Bearer good' } });
  t.equal(bench.echoed(post)?.body.length, body.length, 'a request body survives the auth round trip');
});

t.test('invalid forwardAuth options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      noaddress: { forwardAuth: {} },
      badaddress: { forwardAuth: { address: 'auth:9000' } },
      badregex: { forwardAuth: { address: 'http://127.0.0.1:1/', authResponseHeadersRegex: '(' } },
      badca: { forwardAuth: { address: 'https://127.0.0.1:1/', tls: { ca: '/nonexistent/ca.pem' } } },
      halfcert: { forwardAuth: { address: 'https://127.0.0.1:1/', tls: { cert: '/nonexistent/client.crt' } } },
    },
    { noaddress: ['noaddress'], badaddress: ['badaddress'], badregex: ['badregex'], badca: ['badca'], halfcert: ['halfcert'] },
  );
  const cases = [
    { router: 'noaddress', error: /forwardAuth\.address: is required/ },
    { router: 'badaddress', error: /forwardAuth\.address: must be an http:\/\/ or https:\/\/ URL/ },
    { router: 'badregex', error: /forwardAuth\.authResponseHeadersRegex: invalid regular expression/ },
    { router: 'badca', error: /tls\.ca: cannot read \/nonexistent\/ca\.pem/ },
    { router: 'halfcert', error: /tls\.key: is required with a client certificate/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
