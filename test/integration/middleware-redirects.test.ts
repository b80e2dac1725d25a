import t from 'tap';
import { middlewareBench } from './middleware-fixtures';

t.test('redirectScheme and redirectRegex answer with Location and Traefik statuses', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      tohttps: { redirectScheme: { scheme: 'https' } },
      tohttps8443: { redirectScheme: { scheme: 'https', port: '8443', permanent: true } },
      tohttp: { redirectScheme: { scheme: 'http' } },
      tohttp80: { redirectScheme: { scheme: 'http', port: '80' } },
      regex: { redirectRegex: { regex: '^http://([^/]+)/old/(.*)', replacement: 'http://${1}/new/$2' } },
      regexperm: { redirectRegex: { regex: '^http://[^/]+/(.*)$', replacement: 'https://example.test/$1', permanent: true } },
    },
    { tohttps: ['tohttps'], tohttps8443: ['tohttps8443'], tohttp: ['tohttp'], tohttp80: ['tohttp80'], regex: ['regex'], regexperm: ['regexperm'] },
  );
  const cases = [
    { router: 'tohttps', method: 'GET', path: '/a?b=1', status: 302, location: 'https://tohttps.test/a?b=1' },
    { router: 'tohttps', method: 'POST', path: '/a', status: 307, location: 'https://tohttps.test/a' },
    // X-Forwarded-Proto from an untrusted client is replaced by the entrypoint: still redirected.
    { router: 'tohttps', method: 'GET', path: '/a', headers: { 'x-forwarded-proto': 'https' }, status: 302, location: 'https://tohttps.test/a' },
    { router: 'tohttps8443', method: 'GET', path: '/', status: 301, location: 'https://tohttps8443.test:8443/' },
    { router: 'tohttps8443', method: 'PUT', path: '/x', status: 308, location: 'https://tohttps8443.test:8443/x' },
    // Already on the target scheme: no redirect loop, the request goes through.
    { router: 'tohttp', method: 'GET', path: '/same', status: 200, location: undefined },
    { router: 'tohttp80', method: 'GET', path: '/same', status: 200, location: undefined },
    { router: 'regex', method: 'GET', path: '/old/x/y?z=1', status: 302, location: 'http://regex.test/new/x/y?z=1' },
    { router: 'regex', method: 'GET', path: '/kept', status: 200, location: undefined },
    { router: 'regexperm', method: 'GET', path: '/p', status: 301, location: 'https://example.test/p' },
    { router: 'regexperm', method: 'DELETE', path: '/p', status: 308, location: 'https://example.test/p' },
  ];
  for (const c of cases) {
    const reply = await bench.send(c.router, c.path, { method: c.method, headers: c.headers });
    t.equal(reply.status, c.status, `${c.method} ${c.router}${c.path}: status`);
    t.equal(reply.headers.location, c.location, `${c.method} ${c.router}${c.path}: location`);
    t.equal(bench.echoed(reply) !== undefined, c.location === undefined, `${c.method} ${c.router}${c.path}: reached upstream only without redirect`);
  }
});

t.test('behind a trusted TLS-terminating proxy, X-Forwarded-Proto is the current scheme', async (t) => {
  const bench = await middlewareBench(t, { tohttps: { redirectScheme: { scheme: 'https' } } }, { tohttps: ['tohttps'] }, { trustForwarded: true });
  const cases = [
    { proto: 'https', status: 200, location: undefined },
    { proto: 'http', status: 302, location: 'https://tohttps.test/x' },
  ];
  for (const c of cases) {
    const reply = await bench.send('tohttps', '/x', { headers: { 'x-forwarded-proto': c.proto } });
    t.equal(reply.status, c.status, `X-Forwarded-Proto: ${c.proto}: status`);
    t.equal(reply.headers.location, c.location, `X-Forwarded-Proto: ${c.proto}: location`);
  }
});

t.test('invalid redirect options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      noscheme: { redirectScheme: { port: '443' } },
      badport: { redirectScheme: { scheme: 'https', port: 'eighty' } },
      badperm: { redirectScheme: { scheme: 'https', permanent: 'yes' } },
      noreplacement: { redirectRegex: { regex: '^(.*)$' } },
      badregex: { redirectRegex: { regex: '(', replacement: '/' } },
    },
    { noscheme: ['noscheme'], badport: ['badport'], badperm: ['badperm'], noreplacement: ['noreplacement'], badregex: ['badregex'] },
  );
  const cases = [
    { router: 'noscheme', error: /redirectScheme\.scheme: is required/ },
    { router: 'badport', error: /redirectScheme\.port: must be a port number/ },
    { router: 'badperm', error: /redirectScheme\.permanent: expected true or false/ },
    { router: 'noreplacement', error: /redirectRegex\.replacement: is required/ },
    { router: 'badregex', error: /redirectRegex\.regex: invalid regular expression/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
