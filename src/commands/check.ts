import { loadStaticConfig } from '../config/load';
import { readDynamicFiles } from '../../providers/file/read';
import { readFileSync } from 'node:fs';
import { errorMessage } from '../errors';

/** The running server reports these when it loads them; check says so before it starts. */
function unreadableCertificates(certs: { certFile: string; keyFile: string }[]): string[] {
  const out: string[] = [];
  certs.forEach((c, i) => {
    for (const key of ['certFile', 'keyFile'] as const) {
      try {
        readFileSync(c[key]);
      } catch (err) {
        out.push(`tls.certificates[${i}].${key}: cannot read ${c[key]}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
      }
    }
  });
  return out;
}

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
    // Files skipped and definitions ignored, as the running provider logs them.
    for (const notice of read.notices) process.stderr.write(`warning: ${notice}\n`);
    errors.push(...unreadableCertificates(read.config.tls?.certificates ?? []));
  }
  for (const e of errors) process.stderr.write(`error: ${e}\n`);
  if (errors.length) {
    process.stderr.write(`${errors.length} error${errors.length > 1 ? 's' : ''}\n`);
    return 1;
  }
  process.stdout.write(`configuration OK (${loaded?.file ?? 'defaults'}${files ? `, ${files} dynamic file${files > 1 ? 's' : ''}` : ''})\n`);
  return 0;
}
