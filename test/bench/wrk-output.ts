/** What one wrk run measured, from its `--latency` report. */
export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  /** Responses outside 2xx/3xx: a proxy that answers 502 fast must not look fast. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function durationMs(text: string, what: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`wrk output: cannot read ${what} ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

function required(output: string, re: RegExp, what: string): RegExpExecArray {
  const m = re.exec(output);
  if (!m) throw new Error(`wrk output: no ${what} line (was wrk run with --latency?)\n${output.trim()}`);
  return m;
}

/** Parses the text wrk prints with `--latency`; throws naming the missing line when it is not such a report. */
export function parseWrkOutput(output: string): WrkResult {
  const percentile = (p: number): number =>
    durationMs(required(output, new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, 'm'), `${p}% latency`)[1], `${p}% latency`);
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requestsPerSec: Number(required(output, /^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    requests: Number(required(output, /^\s+(\d+) requests in /m, 'requests total')[1]),
    latencyMs: { p50: percentile(50), p75: percentile(75), p90: percentile(90), p99: percentile(99) },
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: sockets
      ? { connect: Number(sockets[1]), read: Number(sockets[2]), write: Number(sockets[3]), timeout: Number(sockets[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}
