import type { ServerResponse } from 'node:http';
import type { Handler } from '../../proxy/exchange';

/** Comment lines keep idle proxies and browsers from timing the stream out. */
const KEEPALIVE_MS = 15_000;
/** Health checks may flip many servers at once: coalesce them into one push. */
const COALESCE_MS = 100;

export interface EventStream {
  /** `GET /api/events`: a server-sent event stream, one `state` event now and after every change. */
  readonly handler: Handler;
  /** Announces a change; clients get the new state shortly after. */
  changed(): void;
  /** Ends every open stream (before a graceful stop, which would otherwise wait for them). */
  close(): void;
  readonly clients: number;
}

/** Server-sent events carrying `state()` (the dashboard's overview and raw data). */
export function createEventStream(state: () => unknown): EventStream {
  const clients = new Set<ServerResponse>();
  let pending: NodeJS.Timeout | undefined;
  const send = (res: ServerResponse, text: string): void => {
    res.write(`event: state\ndata: ${text}\n\n`);
  };
  const keepalive = setInterval(() => {
    for (const res of clients) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS).unref();
  return {
    get clients() {
      return clients.size;
    },
    handler: async (ex) => {
      const { res } = ex;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      res.flushHeaders();
      clients.add(res);
      res.once('close', () => clients.delete(res));
      send(res, JSON.stringify(state()));
    },
    changed() {
      if (pending || clients.size === 0) return;
      pending = setTimeout(() => {
        pending = undefined;
        const text = JSON.stringify(state());
        for (const res of clients) send(res, text);
      }, COALESCE_MS);
    },
    close() {
      clearInterval(keepalive);
      clearTimeout(pending);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
