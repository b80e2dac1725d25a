import t from 'tap';
import { parseWrkOutput, WrkResult } from '../bench/wrk-output';

const clean = `Running 2s test @ http://127.0.0.1:18991/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   230.51us  192.81us   4.33ms   96.32%
    Req/Sec   143.85k    18.18k  161.75k    80.00%
  Latency Distribution
     50%  171.00us
     75%  295.00us
     90%  357.00us
     99%  613.00us
  286128 requests in 2.00s, 43.66MB read
Requests/sec: 143023.38
Transfer/sec:     21.82MB
`;
const all503 = `Running 1s test @ http://127.0.0.1:18991/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    61.48us  132.46us   3.69ms   99.37%
    Req/Sec   125.16k     8.61k  130.13k    90.91%
  Latency Distribution
     50%   40.00us
     75%   73.00us
     90%   77.00us
     99%  117.00us
  136682 requests in 1.10s, 24.64MB read
  Non-2xx or 3xx responses: 136682
Requests/sec: 124209.62
Transfer/sec:     22.39MB
`;
const dropping = `Running 2s test @ http://127.0.0.1:18993/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.40ms    3.68ms  15.89ms   83.93%
    Req/Sec   565.00      0.00   565.00    100.00%
  Latency Distribution
     50%  585.00us
     75%    2.35ms
     90%    8.12ms
     99%   15.89ms
  56 requests in 2.00s, 7.38KB read
  Socket errors: connect 0, read 32, write 0, timeout 0
Requests/sec:     27.96
Transfer/sec:      3.69KB
`;
const slow = `Running 3s test @ http://127.0.0.1:18994/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10s   741.32us   1.10s    50.00%
    Req/Sec     1.00      0.00     1.00    100.00%
  Latency Distribution
     50%    1.10s 
     75%    1.10s 
     90%    1.10s 
     99%    1.10s 
  4 requests in 3.01s, 540.00B read
Requests/sec:      1.33
Transfer/sec:     179.22B
`;
const noLatencyFlag = `Running 2s test @ http://127.0.0.1:18991/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   230.51us  192.81us   4.33ms   96.32%
    Req/Sec   143.85k    18.18k  161.75k    80.00%
  286128 requests in 2.00s, 43.66MB read
Requests/sec: 143023.38
Transfer/sec:     21.82MB
`;
const zero = { connect: 0, read: 0, write: 0, timeout: 0 };

// Real reports of wrk 4.1 (`wrk -t1 --latency`), plus the failures the bench must refuse to turn into figures.
const cases: { name: string; output: string; want: WrkResult | RegExp }[] = [
  {
    name: 'clean keep-alive run, microsecond percentiles',
    output: clean,
    want: { requestsPerSec: 143023.38, requests: 286128, latencyMs: { p50: 0.171, p75: 0.295, p90: 0.357, p99: 0.613 }, non2xx: 0, socketErrors: zero },
  },
  {
    name: 'every response a 503 is counted',
    output: all503,
    want: { requestsPerSec: 124209.62, requests: 136682, latencyMs: { p50: 0.04, p75: 0.073, p90: 0.077, p99: 0.117 }, non2xx: 136682, socketErrors: zero },
  },
  {
    name: 'backend dropping connections: socket errors, millisecond percentiles',
    output: dropping,
    want: {
      requestsPerSec: 27.96, requests: 56, latencyMs: { p50: 0.585, p75: 2.35, p90: 8.12, p99: 15.89 },
      non2xx: 0, socketErrors: { connect: 0, read: 32, write: 0, timeout: 0 },
    },
  },
  {
    name: 'slow backend: second percentiles',
    output: slow,
    want: { requestsPerSec: 1.33, requests: 4, latencyMs: { p50: 1100, p75: 1100, p90: 1100, p99: 1100 }, non2xx: 0, socketErrors: zero },
  },
  { name: 'connection refused is an error, not zero', output: 'unable to connect to 127.0.0.1:18992 Connection refused\n', want: /no Requests\/sec line/ },
  { name: 'a run without --latency is an error', output: noLatencyFlag, want: /no 50% latency line/ },
];

const rounded = (r: WrkResult): WrkResult => ({
  ...r,
  latencyMs: { p50: +r.latencyMs.p50.toFixed(6), p75: +r.latencyMs.p75.toFixed(6), p90: +r.latencyMs.p90.toFixed(6), p99: +r.latencyMs.p99.toFixed(6) },
});

for (const c of cases) {
  if (c.want instanceof RegExp) t.throws(() => parseWrkOutput(c.output), c.want, c.name);
  else t.same(rounded(parseWrkOutput(c.output)), c.want, c.name);
}
