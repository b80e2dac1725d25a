import { readdirSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';

const EXTENSIONS = new Set(['.yml', '.yaml', '.json', '.toml']);

/**
 * The files a `filename` or `directory` setting covers. A directory is read
 * as Traefik reads it: recursively, each folder's entries in name order with
 * a subfolder's files where the subfolder sorts, so "the first definition"
 * means the same file in both. Hidden entries are skipped (editors' and
 * config managers' temporary files, Kubernetes' `..data`); a symbolic link
 * to a file is read, one to a folder is not followed (no cycles), as in
 * Traefik.
 */
export function listFiles(opts: { filename?: string; directory?: string }): string[] {
  if (opts.filename) return [opts.filename];
  return opts.directory ? walk(opts.directory) : [];
}

function walk(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (EXTENSIONS.has(extname(entry.name).toLowerCase()) && !linksToFolder(path)) out.push(path);
  }
  return out;
}

/** A link that points nowhere is listed, so that reading it reports why. */
function linksToFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
