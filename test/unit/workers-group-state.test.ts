import t from 'tap';
import { answerCalls, connectWorkerCalls, workerGone } from '../../src/workers/group-state';
import type { CallsMessage } from '../../src/workers/messages';
import { inFlightCounter, rateLimiter } from '../../middlewares/lib/group-limits';

/**
 * The group state's two sides in one process: a worker's calls go to the
 * primary's answerCalls (as the IPC channel would carry them), so what is
 * checked is the real batching and the real buckets and counts.
 */
const sent: CallsMessage[] = [];
let primaryReachable = true;
const calls = connectWorkerCalls((msg) => {
  if (!primaryReachable) return false;
  sent.push(msg);
  setImmediate(() => calls.answered(answerCalls(1, msg)));
  return true;
});

t.test('the calls of one loop turn go as one message, answered by the group buckets', async (t) => {
  sent.length = 0;
  const limiter = rateLimiter({ average: 1, periodMs: 60_000, burst: 3 }, 'rate-a');
  const takes = await Promise.all(Array.from({ length: 5 }, () => limiter.take('client')));
  t.same(takes.map((x) => x.ok), [true, true, true, false, false], 'burst 3 of 5');
  t.equal(sent.length, 1, 'one message');
  t.equal(sent[0].calls.length, 5, 'with the five calls');
});

t.test('in-flight counts are the group\'s, and a worker that exits gives its share back', async (t) => {
  const counter = inFlightCounter(2, 'cap-a');
  t.same(await Promise.all([counter.acquire('h'), counter.acquire('h'), counter.acquire('h')]), [true, true, false], 'two of three');
  counter.release('h');
  t.equal(await counter.acquire('h'), true, 'a released place is taken again');
  t.equal(await counter.acquire('h'), false, 'then the cap holds');
  workerGone(1);
  t.same(await Promise.all([counter.acquire('h'), counter.acquire('h')]), [true, true], 'the exited worker\'s two places are free');
});

t.test('without the primary, calls get their fallback at once', async (t) => {
  primaryReachable = false;
  t.teardown(() => {
    primaryReachable = true;
  });
  const limiter = rateLimiter({ average: 1, periodMs: 60_000, burst: 1 }, 'rate-b');
  t.same(await Promise.all([limiter.take('x'), limiter.take('x')]), [{ ok: true }, { ok: true }], 'allowed: a worker draining alone does not refuse');
});
