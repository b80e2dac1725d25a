import { createReadStream, createWriteStream, unlink } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * A body held for replay: in memory up to `memLimit` bytes, the rest in a
 * private temporary file. Readable any number of times once sealed.
 */
export class Spool {
  bytes = 0;
  private readonly chunks: Buffer[] = [];
  private file?: { path: string; stream: WriteStream };

  constructor(private readonly memLimit: number) {}

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.file && this.bytes <= this.memLimit) {
      this.chunks.push(chunk);
      return;
    }
    if (!this.file) {
      const path = join(tmpdir(), `portier-buffer-${randomUUID()}`);
      this.file = { path, stream: createWriteStream(path, { mode: 0o600 }) };
    }
    this.file.stream.write(chunk);
  }

  /** Waits until everything written is readable. */
  seal(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    return new Promise((resolve, reject) => {
      file.stream.once('error', reject);
      file.stream.end(() => resolve());
    });
  }

  reader(): Readable {
    const chunks = this.chunks;
    const path = this.file?.path;
    return Readable.from(
      (async function* () {
        yield* chunks;
        if (path !== undefined) for await (const c of createReadStream(path)) yield c as Buffer;
      })(),
    );
  }

  dispose(): void {
    const file = this.file;
    this.file = undefined;
    if (!file) return;
    file.stream.destroy();
    unlink(file.path, () => undefined);
  }
}
