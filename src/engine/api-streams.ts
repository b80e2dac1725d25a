import type { ServerResponse } from 'node:http';
import type { Engine } from './engine';
import type { DockerEvent } from './events';
import { matchEvent, type Filters } from './filters';
import type { LogLine } from './log-buffer';
import type { Replica } from './replica';

/**
 * The API's long-lived responses: Docker's `/events` (newline-delimited
 * JSON), Docker's `/containers/{id}/logs` (multiplexed frames, since
 * replicas are not TTYs) and Portier's project-wide `/portier/logs`.
 */

/** Docker's `since`/`until`: unix seconds, fractional allowed. Returns ms. */
export function parseTime(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) return undefined;
  return n * 1000;
}

export function streamEvents(engine: Engine, res: ServerResponse, f: Filters, sinceMs?: number, untilMs?: number): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
  const send = (e: DockerEvent): void => {
    if (matchEvent(e, f)) res.write(JSON.stringify(e) + '\n');
  };
  if (sinceMs !== undefined) engine.events(sinceMs, untilMs).forEach(send);
  if (untilMs !== undefined && untilMs <= Date.now()) {
    res.end();
    return;
  }
  engine.on('event', send);
  const timer = untilMs === undefined ? undefined : setTimeout(() => res.end(), untilMs - Date.now());
  res.on('close', () => {
    engine.off('event', send);
    clearTimeout(timer);
  });
}

export interface LogQuery {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  /** Newest N lines; undefined for all. */
  tail?: number;
  timestamps: boolean;
  sinceMs?: number;
  untilMs?: number;
}

/** Docker's stream framing: [stream, 0, 0, 0, size (uint32 BE)] then the payload. */
export function frame(line: LogLine, timestamps: boolean): Buffer {
  const payload = Buffer.from(`${timestamps ? new Date(line.time).toISOString() + ' ' : ''}${line.text}\n`);
  const header = Buffer.alloc(8);
  header[0] = line.stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export function streamContainerLogs(engine: Engine, r: Replica, res: ServerResponse, q: LogQuery): void {
  const wanted = (l: LogLine): boolean =>
    ((l.stream === 'stdout' && q.stdout) || (l.stream === 'stderr' && q.stderr)) &&
    (q.sinceMs === undefined || l.time >= q.sinceMs) &&
    (q.untilMs === undefined || l.time <= q.untilMs);
  res.writeHead(200, { 'content-type': 'application/vnd.docker.multiplexed-stream' });
  for (const l of r.logs.snapshot(q.tail)) if (wanted(l)) res.write(frame(l, q.timestamps));
  if (!q.follow || r.state === 'exited') {
    res.end();
    return;
  }
  res.flushHeaders();
  const onLine = (l: LogLine): void => {
    if (wanted(l)) res.write(frame(l, q.timestamps));
  };
  // Like `docker logs -f`, the stream ends when the container stops for good.
  const onChange = (): void => {
    if (r.state !== 'exited' && engine.find(r.id)) return;
    engine.off('change', onChange);
    // A forked child may hold the pipes open: wait for the last output, but not forever.
    void Promise.race([r.outputDone, new Promise((resolve) => setTimeout(resolve, 1000))]).then(() => res.end());
  };
  r.logs.on('line', onLine);
  engine.on('change', onChange);
  res.on('close', () => {
    r.logs.off('line', onLine);
    engine.off('change', onChange);
  });
}

/**
 * Every replica of a project (or of one service) as newline-delimited JSON
 * `{name, service, stream, time, text}`; with `follow`, replicas created
 * later join, and the stream ends when the project goes down.
 */
export function streamProjectLogs(engine: Engine, res: ServerResponse, project: string, service: string | undefined, follow: boolean, tail?: number): void {
  const mine = (r: Replica): boolean => r.project === project && (service === undefined || r.service === service);
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const send = (r: Replica, l: LogLine): void => {
    res.write(JSON.stringify({ name: r.name, service: r.service, stream: l.stream, time: l.time, text: l.text }) + '\n');
  };
  const backlog = engine
    .list()
    .filter(mine)
    .flatMap((r) => r.logs.snapshot(tail).map((l) => [r, l] as const))
    .sort((a, b) => a[1].time - b[1].time);
  for (const [r, l] of backlog) send(r, l);
  if (!follow) {
    res.end();
    return;
  }
  res.flushHeaders();
  const detach = new Map<string, () => void>();
  const attach = (r: Replica): void => {
    if (detach.has(r.id) || !mine(r)) return;
    const onLine = (l: LogLine): void => send(r, l);
    r.logs.on('line', onLine);
    detach.set(r.id, () => r.logs.off('line', onLine));
  };
  engine.list().forEach(attach);
  const onEvent = (e: DockerEvent): void => {
    if (e.Action === 'create') {
      const r = engine.find(e.id);
      if (r) attach(r);
    }
    if (e.Action === 'destroy') {
      detach.get(e.id)?.();
      detach.delete(e.id);
    }
  };
  const onChange = (): void => {
    if (!engine.projects().some((p) => p.name === project)) res.end();
  };
  engine.on('event', onEvent);
  engine.on('change', onChange);
  res.on('close', () => {
    engine.off('event', onEvent);
    engine.off('change', onChange);
    for (const off of detach.values()) off();
  });
}
