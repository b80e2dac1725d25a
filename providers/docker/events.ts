import type Dockerode from 'dockerode';

/**
 * Follows the engine's event stream and keeps following it: when the stream
 * ends or fails (the daemon restarts, a proxy drops the connection) it
 * reconnects with exponential backoff (200 ms doubling to 5 s) and reports
 * each (re)connection, after which the caller re-lists everything it may
 * have missed. Nothing here throws into the caller.
 */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export interface FollowHandlers {
  onEvent(ev: EngineEvent): void;
  onConnect(): void;
  onDisconnect(err: Error): void;
}

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 5000;

export class EventFollower {
  private closed = false;
  private stream?: NodeJS.ReadableStream & { destroy?: () => void };
  private wake?: () => void;
  connected = false;

  constructor(
    private readonly docker: Dockerode,
    private readonly filters: Record<string, string[]>,
    private readonly handlers: FollowHandlers,
  ) {}

  start(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    let delay = MIN_BACKOFF_MS;
    while (!this.closed) {
      let err: Error;
      try {
        const stream = (await this.docker.getEvents({ filters: JSON.stringify(this.filters) } as Dockerode.GetEventsOptions)) as NodeJS.ReadableStream & { destroy?: () => void };
        if (this.closed) {
          stream.destroy?.();
          return;
        }
        this.stream = stream;
        this.connected = true;
        delay = MIN_BACKOFF_MS;
        this.handlers.onConnect();
        err = await this.consume(stream);
      } catch (e) {
        err = e instanceof Error ? e : new Error(String(e));
      }
      this.connected = false;
      this.stream = undefined;
      if (this.closed) return;
      this.handlers.onDisconnect(err);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
  }

  private consume(stream: NodeJS.ReadableStream): Promise<Error> {
    return new Promise((resolve) => {
      let buf = '';
      let done = false;
      const finish = (err: Error): void => {
        if (!done) resolve(err);
        done = true;
      };
      stream.on('data', (chunk: Buffer | string) => {
        buf += chunk.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === '') continue;
          try {
            this.handlers.onEvent(JSON.parse(line) as EngineEvent);
          } catch {
            // A garbled line (a proxy cutting mid-event) only costs that event: the resync after reconnect catches up.
          }
        }
      });
      stream.on('end', () => finish(new Error('event stream ended')));
      stream.on('close', () => finish(new Error('event stream closed')));
      stream.on('error', (e: Error) => finish(e));
    });
  }

  close(): void {
    this.closed = true;
    this.stream?.destroy?.();
    this.wake?.();
  }
}
