import t from 'tap';
import { compileExpression } from '../../../middlewares/lib/expression';
import { breakerFunctions } from '../../../middlewares/circuitBreaker';
import { RollingStats } from '../../../middlewares/lib/rollingStats';

/** Stats with a fixed clock: 10 requests, 3 network errors, statuses 200×5, 500×3, 502×2, latencies 10..100 ms. */
function sampleStats(): RollingStats {
  const stats = new RollingStats(10, () => 5_000);
  const statuses = [200, 200, 200, 200, 200, 500, 500, 500, 502, 502];
  statuses.forEach((status, i) => stats.record({ status, networkError: i >= 7, latencyMs: (i + 1) * 10 }));
  return stats;
}

t.test('circuit breaker expressions evaluate against recent outcomes', async (t) => {
  const stats = sampleStats();
  const cases = [
    { src: 'NetworkErrorRatio() > 0.25', value: true },
    { src: 'NetworkErrorRatio() > 0.3', value: false },
    { src: 'ResponseCodeRatio(500, 600, 0, 600) > 0.49', value: true },
    { src: 'ResponseCodeRatio(500, 600, 0, 600) == 0.5', value: true },
    { src: 'ResponseCodeRatio(502, 503, 500, 600) < 0.5', value: true },
    { src: 'LatencyAtQuantileMS(50.0) == 50', value: true },
    { src: 'LatencyAtQuantileMS(99) >= 100', value: true },
    { src: 'NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(50) > 40', value: true },
    { src: 'NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(50) > 60', value: false },
    { src: 'NetworkErrorRatio() > 0.1 && (ResponseCodeRatio(500, 600, 0, 600) > 0.9 || LatencyAtQuantileMS(90) > 80)', value: true },
    { src: '!(NetworkErrorRatio() > 0.1)', value: false },
    { src: '  NetworkErrorRatio()>=0.3&&NetworkErrorRatio()<=0.3  ', value: true },
  ];
  for (const c of cases) t.equal(compileExpression(c.src, breakerFunctions, 'expression')(stats), c.value, c.src);
});

t.test('bad expressions fail at configuration time with a position', async (t) => {
  const cases = [
    { src: '', error: /expression: is empty/ },
    { src: 'NetworkErrorRatio() >', error: /unexpected end of expression at 21/ },
    { src: 'NetworkErrorRatio() > 0.5 &&', error: /unexpected end of expression at 28/ },
    { src: 'Foo() > 1', error: /unknown function Foo \(known: NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS\) at 0/ },
    { src: 'ResponseCodeRatio(500, 600) > 0', error: /ResponseCodeRatio takes 4 argument\(s\), got 2 at 0/ },
    { src: 'NetworkErrorRatio()', error: /expected a condition at 0/ },
    { src: 'NetworkErrorRatio() > 0.5 && 3', error: /expected a condition at 29/ },
    { src: '(NetworkErrorRatio() > 0.5', error: /expected "\)", got end of expression at 26/ },
    { src: 'NetworkErrorRatio() > 0.5 # x', error: /unexpected "#" at 26/ },
    { src: 'NetworkErrorRatio() > 0.5 0.4', error: /unexpected "0.4" at 26/ },
  ];
  for (const c of cases) t.throws(() => compileExpression(c.src, breakerFunctions, 'expression'), c.error, JSON.stringify(c.src));
});

t.test('rolling stats forget outcomes older than the window', async (t) => {
  let now = 0;
  const stats = new RollingStats(10, () => now);
  stats.record({ status: 500, networkError: true, latencyMs: 1 });
  const cases = [
    { at: 9_999, ratio: 1 },
    { at: 10_000, ratio: 0 },
  ];
  for (const c of cases) {
    now = c.at;
    t.equal(stats.networkErrorRatio(), c.ratio, `at ${c.at}ms`);
  }
});
