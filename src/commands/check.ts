import { loadStaticConfig } from '../config/load';
import { readDynamicFiles } from '../../providers/file/read';
import { errorMessage } from '../errors';

/**
 * `portier check`: validates the static configuration and the file
 * provider's files, prints every error (file:line: path: message) and
 * exits non-zero when there is one.
 */
export async function checkCommand(file: string | undefined, flags: string[]): Promise<number> {
  const errors: string[] = [];
  let loaded;
  try {
    loaded = loadStaticConfig({ file, flags });
  } catch (err) {
    errors.push(errorMessage(err));
  }
  const fp = loaded?.config.providers.file;
  let files = 0;
  if (fp && (fp.filename || fp.directory)) {
    const read = readDynamicFiles(fp);
    files = read.files.length;
    errors.push(...read.errors.map((e) => e.message));
  }
  for (const e of errors) process.stderr.write(`error: ${e}\n`);
  if (errors.length) {
    process.stderr.write(`${errors.length} error${errors.length > 1 ? 's' : ''}\n`);
    return 1;
  }
  process.stdout.write(`configuration OK (${loaded?.file ?? 'defaults'}${files ? `, ${files} dynamic file${files > 1 ? 's' : ''}` : ''})\n`);
  return 0;
}
