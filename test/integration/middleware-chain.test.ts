import t from 'tap';
import { middlewareBench } from './middleware-fixtures';

const steps = {
  strip: { stripPrefix: { prefixes: ['/api'] } },
  one: { addPrefix: { prefix: '/one' } },
  two: { replacePathRegex: { regex: '^/one/(.*)', replacement: '/two/$1' } },
  three: { addPrefix: { prefix: '/three' } },
  unthree: { stripPrefixRegex: { regex: ['/three'] } },
};

t.test('a chain of five middlewares runs them in order, from file and label configuration', async (t) => {
  const forms = {
    file: { ...steps, five: { chain: { middlewares: ['strip', 'one', 'two', 'three', 'unthree'] } }, reversed: { chain: { middlewares: ['unthree', 'three', 'two', 'one', 'strip'] } } },
    labels: { ...steps, five: { chain: { middlewares: 'strip,one,two,three,unthree' } }, reversed: { chain: { middlewares: 'unthree, three, two, one, strip' } } },
  };
  for (const [form, middlewares] of Object.entries(forms)) {
    const bench = await middlewareBench(t, { ...middlewares, outer: { chain: { middlewares: ['five'] } } }, { five: ['five'], reversed: ['reversed'], nested: ['outer'] });
    const cases = [
      { router: 'five', url: '/two/items?q=1', replaced: '/one/items', prefix: '/three' },
      { router: 'nested', url: '/two/items?q=1', replaced: '/one/items', prefix: '/three' },
      // Reversed, each step sees a different path: nothing to strip first, the regex no longer matches.
      { router: 'reversed', url: '/one/three/api/items?q=1', replaced: undefined, prefix: undefined },
    ];
    for (const c of cases) {
      const reply = await bench.send(c.router, '/api/items?q=1');
      const seen = bench.echoed(reply);
      t.equal(seen?.url, c.url, `${form} ${c.router}: upstream url`);
      t.equal(seen?.headers['x-replaced-path'], c.replaced, `${form} ${c.router}: X-Replaced-Path`);
      t.equal(seen?.headers['x-forwarded-prefix'], c.prefix, `${form} ${c.router}: X-Forwarded-Prefix`);
    }
  }
});

t.test('chain references: cycles and missing members disable the routers using them', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      ok: { addPrefix: { prefix: '/ok' } },
      a: { chain: { middlewares: ['b'] } },
      b: { chain: { middlewares: ['ok', 'a'] } },
      self: { chain: { middlewares: ['self'] } },
      missing: { chain: { middlewares: ['ok', 'ghost'] } },
      empty: { chain: {} },
      fine: { chain: { middlewares: ['ok'] } },
    },
    { a: ['a'], self: ['self'], missing: ['missing'], empty: ['empty'], fine: ['fine'] },
  );
  const cases = [
    { router: 'a', error: /cycle: a@file -> b@file -> a@file/ },
    { router: 'self', error: /cycle: self@file -> self@file/ },
    { router: 'missing', error: /chain\.middlewares\[1\]|ghost@file does not exist/ },
    { router: 'empty', error: /chain\.middlewares: is required/ },
  ];
  for (const c of cases) {
    t.match(bench.routerErrors(c.router).join('\n'), c.error, `${c.router}: error`);
    t.equal((await bench.send(c.router, '/')).status, 404, `${c.router}: not served`);
  }
  t.same(bench.routerErrors('fine'), [], 'a chain with valid members is enabled');
  t.equal(bench.echoed(await bench.send('fine', '/x'))?.url, '/ok/x', 'and serves');
});
