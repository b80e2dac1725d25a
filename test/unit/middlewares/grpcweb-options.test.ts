import t from 'tap';
import { decodeAll } from '../../../src/config/decode';
import grpcWeb from '../../../middlewares/grpcWeb';

/** grpcWeb's one option, from a file (a list) and from a label (a comma-separated string); errors name the item. */
const cases: { name: string; raw: unknown; want?: string[]; error?: RegExp }[] = [
  { name: 'no option: no cross-origin caller', raw: {}, want: undefined },
  { name: 'a list of origins', raw: { allowOrigins: ['https://app.example.com', 'http://localhost:3000'] }, want: ['https://app.example.com', 'http://localhost:3000'] },
  { name: 'a label value', raw: { alloworigins: 'https://a.example.com, https://b.example.com' }, want: ['https://a.example.com', 'https://b.example.com'] },
  { name: 'every origin', raw: { allowOrigins: ['*'] }, want: ['*'] },
  { name: 'an origin with a path', raw: { allowOrigins: ['https://app.example.com/page'] }, error: /^x\.allowOrigins\[0\]$/ },
  { name: 'a bare host', raw: { allowOrigins: ['app.example.com'] }, error: /^x\.allowOrigins\[0\]$/ },
  { name: 'an unknown option', raw: { allowOrigin: ['*'] }, error: /^x\.allowOrigin$/ },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const d = decodeAll(grpcWeb.options, c.raw, 'x');
    if (c.error) t.match(d.errors.map((e) => e.path), [c.error], 'the offending field');
    else {
      t.same(d.errors, [], 'no error');
      t.same(d.value?.allowOrigins, c.want, 'decoded');
    }
  });
}
