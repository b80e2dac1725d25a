import t from 'tap';
import { normalizeTarget } from '../../src/server/normalize';
import { prng } from '../helpers/prng';

/**
 * normalizeTarget's fast exit (a path matching PLAIN_PATH is returned as
 * it is) must give what the full algorithm gives. The full result comes
 * from the function itself, with the fast exit defeated:
 *
 *   normalizeTarget(p) === normalizeTarget('/x/..' + p)   for every p starting with '/'
 *
 * Why the two agree: `/x/..` has a dot-segment, so PLAIN_PATH never
 * matches the prefixed path and it always takes the slow path. There,
 * (1) routingPath works character by character and the prefix is made of
 * characters it keeps as they are (no `%` whose look-ahead could reach
 * into p), so routingPath('/x/..' + p) === '/x/..' + routingPath(p);
 * (2) split on '/', the prefixed path is ['', 'x', '..', ...segments of p
 * after their leading ''], and p has at least one segment after its
 * leading '' (p = '/' gives ['', '']), so `..` is never the last segment:
 * it pops `x` and pushes nothing, leaving the output empty as it is at the
 * start for p alone; every later segment is p's own, with the same
 * "last" flag. So the prefixed path's result is p's slow-path result.
 * For a p the fast exit does not take, the comparison checks this
 * reasoning itself (both sides run the slow path).
 */

const table: [string, string][] = [
  ['/', '/'],
  ['/a', '/a'],
  ['/a/', '/a/'],
  ['/a//b', '/a/b'],
  ['//a', '/a'],
  ['/a//', '/a/'],
  ['/./a', '/a'],
  ['/a/.', '/a/'],
  ['/a/..', '/'],
  ['/a/../b', '/b'],
  ['/..', '/'],
  ['/%61', '/a'],
  ['/%2e%2E/a', '/a'],
  ['/a%2Fb', '/a%2Fb'],
  ['/a%2fb', '/a%2Fb'],
  ['/.hidden', '/.hidden'],
  ['/a.b/c', '/a.b/c'],
  ['/a./b..', '/a./b..'],
  ["/-_~!$&'()*+,;=:@", "/-_~!$&'()*+,;=:@"],
  ['/a b', '/a%20b'],
  ['/caf\u00e9', '/caf%C3%A9'],
  ['/[x]', '/[x]'],
  ['/a\\b', '/a%5Cb'],
  ['/100%', '/100%25'],
];

t.test('table', (t) => {
  for (const [input, expected] of table) {
    t.equal(normalizeTarget(input), expected, `${JSON.stringify(input)} → ${JSON.stringify(expected)}`);
    t.equal(normalizeTarget(input), normalizeTarget('/x/..' + input), `${JSON.stringify(input)}: fast and slow agree`);
  }
  for (const input of ['', 'a', '*', 'a/b', 'http://x/a']) t.equal(normalizeTarget(input), null, `${JSON.stringify(input)} is not origin-form`);
  t.end();
});


const SEED = Number(process.env.NORMALIZE_SEED ?? 0xfa57);
const ITERATIONS = Number(process.env.NORMALIZE_ITERATIONS ?? 5000);

t.test('fast exit agrees with the full algorithm on random paths', (t) => {
  t.comment(`seed ${SEED} (set NORMALIZE_SEED to replay another), ${ITERATIONS} paths`);
  const random = prng(SEED);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const alphabet = [..."/.%2eFa-_~!$&'()*+,;=:@[]\\ \u00e9"];
  // Mostly plain characters, so that many paths take the fast exit; the rest make dot-segments, escapes, empty segments.
  const plain = [..."aF2e-_~!$&'()*+,;=:@"];
  const segment = (): string => {
    const kind = random();
    if (kind < 0.05) return '';
    if (kind < 0.1) return pick(['.', '..', '%2e', '%2E%2e', '.a', 'a.']);
    let s = '';
    const source = random() < 0.6 ? plain : alphabet;
    for (let n = 1 + int(6); n > 0; n--) s += pick(source);
    return s;
  };
  let unchanged = 0;
  let failures = 0;
  for (let i = 0; i < ITERATIONS && failures < 5; i++) {
    let p = '';
    for (let n = int(5); n >= 0; n--) p += '/' + segment();
    if (random() < 0.2) p += '/';
    const fast = normalizeTarget(p);
    const slow = normalizeTarget('/x/..' + p);
    if (fast === p) unchanged++;
    if (fast !== slow) {
      failures++;
      t.fail(`seed ${SEED} path ${i}: normalizeTarget(${JSON.stringify(p)}) = ${JSON.stringify(fast)}, full algorithm ${JSON.stringify(slow)}`);
    }
  }
  t.equal(failures, 0, 'normalizeTarget(p) === normalizeTarget("/x/.." + p) for every path');
  t.comment(`${unchanged} of ${ITERATIONS} paths came back unchanged`);
  // Both branches must be well represented for the property to mean anything.
  t.ok(unchanged > ITERATIONS / 5, `many paths are their own normal form (${unchanged})`);
  t.ok(ITERATIONS - unchanged > ITERATIONS / 5, `many paths are not (${ITERATIONS - unchanged})`);
  t.end();
});
