import t from 'tap';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { HeapTrim } from '../../src/server/heap-trim';

/** Full (mark-compact) collections seen while `fn` runs and `ms` after. */
async function majorCollections(fn: () => void, ms: number): Promise<number> {
  let seen = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) seen++;
  });
  observer.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setTimeout(r, ms));
  observer.disconnect();
  return seen;
}

const cases = [
  { name: 'changes after start-up: one collection for a run of them', startupMs: 0, changes: 5, expect: 1 },
  { name: 'changes during start-up: left to V8', startupMs: 60_000, changes: 5, expect: 0 },
  { name: 'no change: no collection', startupMs: 0, changes: 0, expect: 0 },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const trim = new HeapTrim(50, c.startupMs);
    t.teardown(() => trim.close());
    const seen = await majorCollections(() => {
      for (let i = 0; i < c.changes; i++) trim.changed();
    }, 400);
    t.equal(seen, c.expect, `${seen} full collections`);
  });
}
