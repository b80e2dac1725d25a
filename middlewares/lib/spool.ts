import { createReadStream, createWriteStream, unlink } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * How much may wait in memory for the file: enough for reading and writing
 * to overlap (Node's default, 16 KiB, is less than one socket read).
 */
const FILE_BACKLOG_BYTES = 1024 * 1024;

/**
 * A body held for replay: in memory up to `memLimit` bytes, the rest in a
 * private temporary file. Readable any number of times once sealed.
 *
 * The file is written more slowly than a client on a fast link sends, so
 * `write` says when the file has a backlog: the writer waits for
 * `drained()` (and its peer for the writer), or memory would fill with
 * the body the file exists to keep out of it.
 */
export class Spool {
  bytes = 0;
  private chunks: Buffer[] = [];
  private file?: { path: string; stream: WriteStream };
  private failure?: Error;
  private disposed = false;
  private readonly readers = new Set<Readable>();

  constructor(private readonly memLimit: number) {}

  /** Holds `chunk`; false when the file has a backlog, and more should wait for `drained()`. */
  write(chunk: Buffer): boolean {
    // The exchange is over (client gone): what still arrives has nowhere to go.
    if (this.disposed) return true;
    this.bytes += chunk.length;
    if (!this.file && this.bytes <= this.memLimit) {
      this.chunks.push(chunk);
      return true;
    }
    if (!this.file) {
      const path = join(tmpdir(), `portier-buffer-${randomUUID()}`);
      const stream = createWriteStream(path, { mode: 0o600, highWaterMark: FILE_BACKLOG_BYTES });
      // Kept for drained() and seal(): an unheard 'error' (a full disk) would end the process.
      stream.on('error', (err) => (this.failure ??= err));
      this.file = { path, stream };
    }
    return this.file.stream.write(chunk);
  }

  /** Resolves once the file has taken its backlog (at once without one); rejects if writing it failed. */
  drained(): Promise<void> {
    const stream = this.file?.stream;
    if (this.failure) return Promise.reject(this.failure);
    if (!stream || !stream.writableNeedDrain || stream.destroyed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      // 'close' also follows an error and dispose(): a waiting writer never hangs.
      const settle = (): void => {
        stream.off('drain', settle);
        stream.off('close', settle);
        if (this.failure) reject(this.failure);
        else resolve();
      };
      stream.on('drain', settle);
      stream.on('close', settle);
    });
  }

  /**
   * Waits until everything written is readable. After dispose() (the
   * client left) it resolves too, with nothing to read: the caller checks
   * whether anyone is still waiting for an answer.
   */
  seal(): Promise<void> {
    const file = this.file;
    if (this.failure) return Promise.reject(this.failure);
    if (!file) return Promise.resolve();
    return new Promise((resolve, reject) => {
      file.stream.once('close', () => (this.failure ? reject(this.failure) : resolve()));
      file.stream.end();
    });
  }

  reader(): Readable {
    const chunks = this.chunks;
    const path = this.file?.path;
    const reader = Readable.from(
      (async function* () {
        yield* chunks;
        if (path !== undefined) for await (const c of createReadStream(path)) yield c as Buffer;
      })(),
    );
    // A reader its consumer abandoned would keep the file open until collected: dispose() ends it.
    this.readers.add(reader);
    reader.once('close', () => this.readers.delete(reader));
    return reader;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.chunks = [];
    for (const r of this.readers) r.destroy();
    const file = this.file;
    this.file = undefined;
    if (!file) return;
    file.stream.destroy();
    unlink(file.path, () => undefined);
  }
}
