import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from '../log/logger';
import { errorMessage } from '../errors';

/**
 * The access log's one writer in a worker group: each worker writes its
 * lines to its stdout, a pipe to the primary, which writes whole lines
 * only (a line split across two reads waits for its end) to the file of
 * `accessLog.filePath`, reopened on SIGUSR1 as one process's log is, or to
 * its own stdout.
 */
export class LineRelay {
  private out: NodeJS.WritableStream;
  private readonly onSignal = (): void => this.reopen();

  constructor(
    private readonly filePath: string | undefined,
    private readonly log: Logger,
  ) {
    this.out = this.open();
    if (filePath) process.on('SIGUSR1', this.onSignal);
  }

  /** Relays a worker's stream until it ends. */
  from(stream: Readable): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const end = chunk.lastIndexOf('\n');
      if (end < 0) {
        partial += chunk;
        return;
      }
      this.out.write(partial + chunk.slice(0, end + 1));
      partial = chunk.slice(end + 1);
    });
    stream.on('end', () => {
      if (partial) this.out.write(`${partial}\n`);
    });
  }

  async close(): Promise<void> {
    process.off('SIGUSR1', this.onSignal);
    if (this.out !== process.stdout) await new Promise<void>((resolve) => (this.out as fs.WriteStream).end(resolve));
  }

  private open(): NodeJS.WritableStream {
    if (!this.filePath) return process.stdout;
    const s = fs.createWriteStream(this.filePath, { flags: 'a', mode: 0o640 });
    s.on('error', (err) => this.log.error('access log: cannot write', { filePath: this.filePath, error: errorMessage(err) }));
    return s;
  }

  private reopen(): void {
    const old = this.out as fs.WriteStream;
    this.out = this.open();
    old.end();
  }
}
