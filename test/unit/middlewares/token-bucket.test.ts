import t from 'tap';
import { TokenBuckets } from '../../../middlewares/lib/tokenBucket';

t.test('token bucket: burst, refill, Retry-After, per-source keys', async (t) => {
  let now = 0;
  const buckets = new TokenBuckets({ average: 10, periodMs: 1000, burst: 3 }, 100, () => now);
  const steps = [
    { at: 0, key: 'a', ok: true },
    { at: 0, key: 'a', ok: true },
    { at: 0, key: 'a', ok: true },
    { at: 0, key: 'a', ok: false, retryAfterMs: 100 },
    { at: 0, key: 'b', ok: true },
    { at: 50, key: 'a', ok: false, retryAfterMs: 50 },
    { at: 100, key: 'a', ok: true },
    { at: 100, key: 'a', ok: false, retryAfterMs: 100 },
    { at: 1000, key: 'a', ok: true },
    { at: 1000, key: 'a', ok: true },
    { at: 1000, key: 'a', ok: true },
    { at: 1000, key: 'a', ok: false, retryAfterMs: 100 },
  ];
  for (const [i, s] of steps.entries()) {
    now = s.at;
    const r = buckets.take(s.key);
    t.equal(r.ok, s.ok, `#${i} ${s.key}@${s.at}ms: ${s.ok ? 'passes' : 'limited'}`);
    if (!r.ok) t.ok(Math.abs(r.retryAfterMs - (s.retryAfterMs ?? 0)) < 1e-6, `#${i}: next token in ${s.retryAfterMs}ms`);
  }
});

t.test('idle sources are forgotten and the table stays bounded', async (t) => {
  let now = 0;
  const max = 8;
  const buckets = new TokenBuckets({ average: 1, periodMs: 1000, burst: 1 }, max, () => now);
  const cases = [
    { name: 'active sources beyond the cap evict the least recent', at: 0, keys: 20 },
    { name: 'full (idle) buckets go first', at: 5000, keys: 3 },
  ];
  for (const c of cases) {
    now = c.at;
    for (let i = 0; i < c.keys; i++) buckets.take(`${c.at}-${i}`);
    t.ok(buckets.size <= max, `${c.name}: ${buckets.size} <= ${max}`);
  }
  now = 5000;
  t.equal(buckets.take('5000-0').ok, false, 'a recent source keeps its (empty) bucket');
});
