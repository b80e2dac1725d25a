import t from 'tap';
import { findChainCycle } from '../../../middlewares/chain';

type Refs = Parameters<typeof findChainCycle>[0];

t.test('findChainCycle reports the first reference cycle among chains', async (t) => {
  const chain = (...names: string[]) => ({ type: 'chain', names });
  const other = { type: 'stripPrefix', names: [] };
  const cases: { name: string; config: Refs; cycle: string[] | undefined }[] = [
    { name: 'no chains', config: { a: other }, cycle: undefined },
    { name: 'acyclic', config: { a: chain('b', 'c'), b: chain('c'), c: other }, cycle: undefined },
    { name: 'self', config: { a: chain('a') }, cycle: ['a', 'a'] },
    { name: 'two', config: { a: chain('x', 'b'), b: chain('a'), x: other }, cycle: ['a', 'b', 'a'] },
    { name: 'deep', config: { s: chain('a'), a: chain('b'), b: chain('c'), c: chain('a') }, cycle: ['a', 'b', 'c', 'a'] },
    { name: 'missing member', config: { a: chain('ghost') }, cycle: undefined },
    { name: 'type case', config: { a: { type: 'Chain', names: ['a'] } }, cycle: ['a', 'a'] },
  ];
  for (const c of cases) t.same(findChainCycle(c.config), c.cycle, c.name);
});
