import t from 'tap';
import { availableParallelism } from 'node:os';
import { loadStaticConfig } from '../../src/config/load';

/** `workers`: a count or `auto`, from the file, a flag or the environment; anything else is refused naming the field. */
const cases: { name: string; flag?: string; want?: number; error?: RegExp }[] = [
  { name: 'default: one process', want: 1 },
  { name: 'a count', flag: '--workers=3', want: 3 },
  { name: 'auto: one per CPU this process may use', flag: '--workers=auto', want: availableParallelism() },
  { name: 'AUTO in capitals', flag: '--workers=AUTO', want: availableParallelism() },
  { name: 'zero', flag: '--workers=0', error: /workers: expected a number of worker processes \(1 to 1024\) or auto, got "0"/ },
  { name: 'a fraction', flag: '--workers=1.5', error: /workers: expected a number of worker processes/ },
  { name: 'a word', flag: '--workers=many', error: /workers: expected a number of worker processes \(1 to 1024\) or auto, got "many"/ },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const dir = t.testdir({});
    const load = () => loadStaticConfig({ flags: c.flag ? [c.flag] : [], cwd: dir, env: {} });
    if (c.error) t.throws(load, c.error);
    else t.equal(load().config.workers, c.want);
  });
}
