import t from 'tap';
import { parseH2load } from '../bench/h2-row';

/** h2load's summary as nghttp2 1.52 prints it (Debian bookworm's nghttp2-client). */
const OUT = `starting benchmark...
Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 3.02s, 12345.67 req/s, 1.23MB/s
requests: 37037 total, 37047 started, 37037 done, 37030 succeeded, 4 failed, 3 errored, 0 timeout
status codes: 37030 2xx, 0 3xx, 2 4xx, 1 5xx
traffic: 1.23MB (1291234) total
`;

const cases: { name: string; out: string; want?: Record<string, unknown>; throws?: RegExp }[] = [
  { name: 'a complete summary', out: OUT, want: { requestsPerSec: 12345.67, requests: 37037, failed: 4, errored: 3, non2xx: 3, protocol: 'h2' } },
  { name: 'HTTP/1.1 negotiated', out: OUT.replace('protocol: h2', 'protocol: http/1.1'), want: { protocol: 'http/1.1' } },
  { name: 'no summary (h2load failed)', out: 'starting benchmark...\nNo protocol negotiated. Aborted.\n', throws: /h2load output without/ },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    if (c.throws) t.throws(() => parseH2load(c.out), c.throws);
    else t.match(parseH2load(c.out), c.want);
  });
}
