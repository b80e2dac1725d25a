import fs from 'node:fs';
import { configError, errorMessage } from '../errors';

/** Created with the access log's mode: readable by the owner's group, where log shippers usually sit. */
const MODE = 0o640;

export interface LogFile {
  /** Appends one line; when the file cannot be written, the line goes to stderr instead of being lost. */
  write(line: string): void;
  /** Opens the path again (after logrotate moved the file); on failure keeps writing to the old file and returns the error. */
  reopen(): string | undefined;
}

/**
 * The process log's file (`log.filePath`). Writes are synchronous so the
 * lines before a `process.exit` are on disk and lines keep their order; the
 * process log is a few lines per configuration change, not per request.
 */
export function openLogFile(path: string): LogFile {
  const open = (): number => fs.openSync(path, 'a', MODE);
  let fd: number;
  try {
    fd = open();
  } catch (err) {
    throw configError('log.filePath', `cannot open ${path}: ${errorMessage(err)}`);
  }
  return {
    write(line) {
      try {
        fs.writeSync(fd, line + '\n');
      } catch (err) {
        process.stderr.write(`${line}\nportier: log.filePath ${path}: cannot write: ${errorMessage(err)}\n`);
      }
    },
    reopen() {
      let next: number;
      try {
        next = open();
      } catch (err) {
        return errorMessage(err);
      }
      const old = fd;
      fd = next;
      fs.closeSync(old);
      return undefined;
    },
  };
}
