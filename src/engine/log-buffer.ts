import { EventEmitter } from 'node:events';

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  stream: LogStream;
  /** Milliseconds since the epoch when the line was read. */
  time: number;
  /** The line without its newline. */
  text: string;
}

/**
 * A replica's captured output: the newest lines within a line and a byte
 * budget, so a chatty process cannot grow the engine's memory. Partial lines
 * wait for their newline (or the stream's end); a line longer than the byte
 * budget is cut. Emits 'line' for followers.
 */
export class LogBuffer extends EventEmitter {
  private readonly lines: LogLine[] = [];
  private bytes = 0;
  private readonly partial: Record<LogStream, string> = { stdout: '', stderr: '' };

  constructor(
    private readonly maxLines = 1000,
    private readonly maxBytes = 1 << 20,
  ) {
    super();
    this.setMaxListeners(0);
  }

  write(stream: LogStream, chunk: Buffer | string): void {
    const parts = (this.partial[stream] + chunk.toString()).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const text of parts) this.push(stream, text);
    if (this.partial[stream].length > this.maxBytes) this.end(stream);
  }

  /** Flushes a partial last line when the stream closes. */
  end(stream: LogStream): void {
    if (this.partial[stream] === '') return;
    this.push(stream, this.partial[stream]);
    this.partial[stream] = '';
  }

  /** A line the engine itself adds, e.g. why a command could not start. */
  note(stream: LogStream, text: string): void {
    this.push(stream, text);
  }

  /** The newest `tail` lines (all when undefined). */
  snapshot(tail?: number): LogLine[] {
    return tail === undefined ? this.lines.slice() : tail <= 0 ? [] : this.lines.slice(-tail);
  }

  private push(stream: LogStream, text: string): void {
    if (text.length > this.maxBytes) text = text.slice(0, this.maxBytes);
    const line = { stream, time: Date.now(), text };
    this.lines.push(line);
    this.bytes += text.length + 1;
    while (this.lines.length > this.maxLines || this.bytes > this.maxBytes) {
      this.bytes -= (this.lines.shift() as LogLine).text.length + 1;
    }
    this.emit('line', line);
  }
}
