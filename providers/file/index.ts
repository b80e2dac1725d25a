import { watch, FSWatcher } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { dirname, basename, resolve } from 'node:path';
import type { Provider } from '../../src/provider';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import type { Logger } from '../../src/log/logger';
import { readDynamicFiles } from './read';
import type { YamlReuse } from '../../src/config/yaml';

export interface FileProviderOptions {
  filename?: string;
  directory?: string;
  watch: boolean;
}

/**
 * A file that had content and reads empty is most likely being rewritten:
 * `curl … > dynamic.yaml` and many editors truncate before they write. It is
 * read again this many times, this far apart, before "no routes" is believed.
 */
const SETTLE_READS = 2;
const SETTLE_MS = 100;

/**
 * The file provider: YAML, JSON or TOML, one file or a directory tree of
 * them, watched and applied within a second. Every error is reported with
 * file and line. One in an object disables only that object (or keeps its
 * last good definition: routing/compile.ts); a file that cannot be parsed
 * keeps the whole last good configuration in force.
 */
export class FileProvider implements Provider {
  readonly name = 'file';
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  /** What the last read applied: a read that reads the same is not pushed. */
  private lastGood?: unknown[];
  /** Files that had content when last applied: only these are waited for when they read empty. */
  private withContent = new Set<string>();
  /** Parsed pieces of each file, for the next read (src/config/yaml.ts). */
  private readonly reuse = new Map<string, YamlReuse>();
  /** The errors of the last read, whether it was refused or applied with its broken objects disabled. */
  lastErrors: string[] = [];

  constructor(private readonly opts: FileProviderOptions) {}

  async start(push: (s: ProviderSnapshot) => void, log: Logger): Promise<void> {
    const load = (settling = 0): void => {
      const read = readDynamicFiles(this.opts, this.reuse);
      this.lastErrors = read.errors.map((e) => e.message);
      if (read.rejected) {
        for (const e of read.errors) log.error('file configuration rejected, keeping the last good one', { error: e.message });
        return;
      }
      const emptied = read.empty.filter((f) => this.withContent.has(f));
      if (emptied.length && settling < SETTLE_READS) {
        this.timer = setTimeout(() => load(settling + 1), SETTLE_MS);
        return;
      }
      for (const file of emptied) log.warn('file configuration: a file stayed empty, so its configuration is removed', { file, waited: `${SETTLE_READS * SETTLE_MS}ms` });
      this.withContent = new Set(read.files.filter((f) => !read.empty.includes(f)));
      // Compared by value, but unchanged objects are the same ones (src/config/yaml.ts): a few pointer comparisons for a large file.
      const applied = [read.config, read.warnings, read.notices, read.objectErrors];
      if (this.lastGood && isDeepStrictEqual(applied, this.lastGood)) return;
      this.lastGood = applied;
      for (const e of read.errors) log.error('file configuration: object disabled, or kept on its last good definition', { error: e.message });
      for (const notice of read.notices) log.warn(notice);
      log.info('file configuration applied', { files: read.files.length });
      push({ provider: this.name, config: read.config, warnings: read.warnings, errors: read.objectErrors });
    };
    load();
    if (!this.opts.watch) return;
    // Watch the folder, not the file: editors and config managers replace files by rename.
    // `filename` wins over `directory` here as in listFiles (static config refuses both).
    const dir = this.opts.filename ? dirname(resolve(this.opts.filename)) : resolve(this.opts.directory!);
    const only = this.opts.filename ? basename(this.opts.filename) : undefined;
    // A directory is read with its subfolders, so changes in them count too.
    this.watcher = watch(dir, { recursive: !only }, (_event, name) => {
      if (only && name && name !== only) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => load(), 100);
    });
    this.watcher.on('error', (err) => log.error('file watch failed', { error: err.message }));
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
