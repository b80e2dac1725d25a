import fs from 'node:fs';
import type { RequestObserver, RequestRecord } from '../server/observer';
import type { Logger } from './logger';
import { configError, errorMessage } from '../errors';
import { accessLogFields, applyFieldModes, commonLogLine, AccessLogConfig } from './access-log-format';

export interface AccessLog extends RequestObserver {
  /** Reopens the file (after logrotate moved it); also done on SIGUSR1. */
  reopen(): void;
  /** Writes what is buffered and closes the file. */
  close(): Promise<void>;
}

/** How long buffered lines may wait when traffic is too slow to fill the buffer. */
const FLUSH_INTERVAL_MS = 1000;

/** `"200"`, `"400-499"` → a predicate; a bad range names its path. */
export function statusFilter(codes: string[], path: string): (status: number) => boolean {
  const ranges = codes.map((c, i) => {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(c);
    if (!m) throw configError(`${path}[${i}]`, `expected a status code or a range like 400-499, got ${JSON.stringify(c)}`);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (hi < lo) throw configError(`${path}[${i}]`, `range ${c} is empty`);
    return [lo, hi] as const;
  });
  return (status) => ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

/** Traefik keeps an entry when any configured filter matches it; without filters, all are kept. */
function buildFilter(cfg: AccessLogConfig): (r: RequestRecord) => boolean {
  const f = cfg.filters;
  const tests: ((r: RequestRecord) => boolean)[] = [];
  if (f?.statusCodes?.length) {
    const ok = statusFilter(f.statusCodes, 'accessLog.filters.statusCodes');
    tests.push((r) => ok(r.status));
  }
  if (f?.retryAttempts) tests.push((r) => r.ex.retryAttempts > 0);
  if (f?.minDuration) {
    const min = f.minDuration;
    tests.push((r) => r.durationMs > min);
  }
  return tests.length ? (r) => tests.some((t) => t(r)) : () => true;
}

/**
 * The access log: one line per finished request, JSON with Traefik's field
 * names or Traefik's Common Log Format, to stdout or `filePath`. With
 * `bufferingSize` N, lines are written N at a time (and at least every
 * second).
 */
export function createAccessLog(cfg: AccessLogConfig, log: Logger, out: NodeJS.WritableStream = process.stdout): AccessLog {
  const keep = buildFilter(cfg);
  let stream: NodeJS.WritableStream = out;
  const open = (): void => {
    if (!cfg.filePath) return;
    const s = fs.createWriteStream(cfg.filePath, { flags: 'a', mode: 0o640 });
    s.on('error', (err) => log.error('access log: cannot write', { filePath: cfg.filePath, error: errorMessage(err) }));
    stream = s;
  };
  open();
  let buffer: string[] = [];
  let count = 0;
  const flush = (): void => {
    if (!buffer.length) return;
    stream.write(buffer.join(''));
    buffer = [];
  };
  const timer = cfg.bufferingSize > 0 ? setInterval(flush, FLUSH_INTERVAL_MS).unref() : undefined;
  const reopen = (): void => {
    if (!cfg.filePath) return;
    flush();
    const old = stream;
    open();
    (old as fs.WriteStream).end();
  };
  const onSignal = (): void => {
    log.info('access log: reopening on SIGUSR1', { filePath: cfg.filePath });
    reopen();
  };
  if (cfg.filePath) process.on('SIGUSR1', onSignal);

  return {
    requestEnded(r) {
      count++;
      if (!cfg.addInternals && r.ex.serviceName?.endsWith('@internal')) return;
      if (!keep(r)) return;
      try {
        const fields = accessLogFields(r, count);
        const line =
          cfg.format === 'json'
            ? JSON.stringify({ ...applyFieldModes(fields, r.ex.req.headers, r.ex.res.getHeaders(), cfg.fields), level: 'info', msg: '', time: new Date().toISOString() })
            : commonLogLine(applyFieldModes(fields, {}, {}, cfg.fields), r.ex.req.headers);
        buffer.push(`${line}\n`);
        if (buffer.length >= Math.max(1, cfg.bufferingSize)) flush();
      } catch (err) {
        log.error('access log: entry dropped', { error: errorMessage(err) });
      }
    },
    reopen,
    async close() {
      clearInterval(timer);
      process.off('SIGUSR1', onSignal);
      flush();
      if (stream !== out) await new Promise<void>((resolve) => (stream as fs.WriteStream).end(resolve));
    },
  };
}
