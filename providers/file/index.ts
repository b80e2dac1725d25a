import { watch, FSWatcher } from 'node:fs';
import { dirname, basename, resolve } from 'node:path';
import type { Provider } from '../../src/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import { readDynamicFiles } from './read';

export interface FileProviderOptions {
  filename?: string;
  directory?: string;
  watch: boolean;
}

/**
 * The file provider: YAML or JSON, one file or a directory of them, watched
 * and applied within a second. A change that fails to parse or validate is
 * reported with file and line, and the last good configuration stays in
 * force.
 */
export class FileProvider implements Provider {
  readonly name = 'file';
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private lastGood?: string;
  /** The errors of the last read, empty when it was applied. */
  lastErrors: string[] = [];

  constructor(private readonly opts: FileProviderOptions) {}

  async start(push: (s: ProviderSnapshot) => void, log: Logger): Promise<void> {
    const load = (): void => {
      const read = readDynamicFiles(this.opts);
      this.lastErrors = read.errors.map((e) => e.message);
      if (read.errors.length) {
        for (const e of read.errors) log.error('file configuration rejected, keeping the last good one', { error: e.message });
        return;
      }
      const text = JSON.stringify(read.config);
      if (text === this.lastGood) return;
      this.lastGood = text;
      log.info('file configuration applied', { files: read.files.length });
      push({ provider: this.name, config: read.config, warnings: read.warnings });
    };
    load();
    if (!this.opts.watch) return;
    // Watch the folder, not the file: editors and config managers replace files by rename.
    // `filename` wins over `directory` here as in listFiles (static config refuses both).
    const dir = this.opts.filename ? dirname(resolve(this.opts.filename)) : resolve(this.opts.directory!);
    const only = this.opts.filename ? basename(this.opts.filename) : undefined;
    this.watcher = watch(dir, (_event, name) => {
      if (only && name && name !== only) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(load, 100);
    });
    this.watcher.on('error', (err) => log.error('file watch failed', { error: err.message }));
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
