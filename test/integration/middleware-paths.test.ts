import t from 'tap';
import { middlewareBench } from './middleware-fixtures';

t.test('path middlewares rewrite what the upstream receives', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      strip: { stripPrefix: { prefixes: ['/api', '/v1'] } },
      stripre: { stripPrefixRegex: { regex: ['/users/[a-z]+', '/v[0-9]+'] } },
      add: { addPrefix: { prefix: '/base' } },
      replace: { replacePath: { path: '/fixed' } },
      replacere: { replacePathRegex: { regex: '^/old/(.*)', replacement: '/new/$1' } },
      replacenamed: { replacePathRegex: { regex: '^/u/(?P<id>\\d+)$', replacement: '/users/${id}' } },
    },
    {
      strip: ['strip'],
      stripre: ['stripre'],
      add: ['add'],
      replace: ['replace'],
      replacere: ['replacere'],
      replacenamed: ['replacenamed'],
      addstrip: ['strip', 'add'],
    },
  );
  const cases = [
    { router: 'strip', path: '/api/items?x=1', url: '/items?x=1', headers: { 'x-forwarded-prefix': '/api' } },
    { router: 'strip', path: '/v1', url: '/', headers: { 'x-forwarded-prefix': '/v1' } },
    { router: 'strip', path: '/other', url: '/other', headers: { 'x-forwarded-prefix': undefined } },
    { router: 'stripre', path: '/users/bob/profile', url: '/profile', headers: { 'x-forwarded-prefix': '/users/bob' } },
    { router: 'stripre', path: '/v22/x', url: '/x', headers: { 'x-forwarded-prefix': '/v22' } },
    { router: 'stripre', path: '/a/v2/x', url: '/a/v2/x', headers: { 'x-forwarded-prefix': undefined } },
    { router: 'add', path: '/x?q=2', url: '/base/x?q=2', headers: {} },
    { router: 'replace', path: '/any/thing?keep=1', url: '/fixed?keep=1', headers: { 'x-replaced-path': '/any/thing' } },
    { router: 'replacere', path: '/old/a/b', url: '/new/a/b', headers: { 'x-replaced-path': '/old/a/b' } },
    { router: 'replacere', path: '/other', url: '/other', headers: { 'x-replaced-path': undefined } },
    { router: 'replacenamed', path: '/u/42', url: '/users/42', headers: {} },
    { router: 'addstrip', path: '/api/z', url: '/base/z', headers: { 'x-forwarded-prefix': '/api' } },
  ];
  for (const c of cases) {
    const reply = await bench.send(c.router, c.path);
    t.equal(reply.status, 200, `${c.router} ${c.path}: status`);
    const seen = bench.echoed(reply);
    t.equal(seen?.url, c.url, `${c.router} ${c.path}: upstream url`);
    for (const [k, v] of Object.entries(c.headers)) t.equal(seen?.headers[k], v, `${c.router} ${c.path}: ${k}`);
  }
});

t.test('invalid path options disable only the routers using them, naming the option', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      ok: { addPrefix: { prefix: '/p' } },
      noprefixes: { stripPrefix: {} },
      badregex: { stripPrefixRegex: { regex: ['/(unclosed'] } },
      unknown: { replacePath: { path: '/x', pathh: '/y' } },
      badtype: { replacePathRegex: { regex: { nested: true }, replacement: '/' } },
      nosuchtype: { stripPrefixes: { prefixes: '/a' } },
    },
    { ok: ['ok'], noprefixes: ['noprefixes'], badregex: ['badregex'], unknown: ['unknown'], badtype: ['badtype'], nosuchtype: ['nosuchtype'] },
  );
  const cases = [
    { router: 'noprefixes', error: /http\.middlewares\.noprefixes\.stripPrefix\.prefixes: is required/ },
    { router: 'badregex', error: /http\.middlewares\.badregex\.stripPrefixRegex\.regex\[0\]: invalid regular expression/ },
    { router: 'unknown', error: /http\.middlewares\.unknown\.replacePath\.pathh: unknown key \(did you mean path\?\)/ },
    { router: 'badtype', error: /http\.middlewares\.badtype\.replacePathRegex\.regex: expected a string/ },
    { router: 'nosuchtype', error: /unknown middleware type "stripPrefixes"/ },
  ];
  for (const c of cases) {
    t.match(bench.routerErrors(c.router).join('\n'), c.error, `${c.router}: error names the option`);
    t.equal((await bench.send(c.router, '/x')).status, 404, `${c.router}: disabled router does not serve`);
  }
  t.same(bench.routerErrors('ok'), [], 'router with a valid middleware is enabled');
  const ok = await bench.send('ok', '/x');
  t.equal(bench.echoed(ok)?.url, '/p/x', 'the valid router keeps serving');
});
