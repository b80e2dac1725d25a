import type { DynamicConfig } from '../../src/dynamic/model';
import { decodeDynamic } from '../../src/dynamic/decode-dynamic';
import { readConfigFile } from '../../src/config/config-file';
import { YamlReuse } from '../../src/config/yaml';
import { locate, ParsedConfig } from '../../src/config/located';
import { PortierError } from '../../src/errors';
import { isRecord } from '../../src/config/decode';
import { listFiles } from './list';
import { FileMerge } from './merge';

export interface FileRead {
  config: DynamicConfig;
  /** Every problem, each located as `file:line: path: message`, for the log and `portier check`. */
  errors: PortierError[];
  /**
   * A file could not be read or parsed, or its shape is wrong: the whole read
   * is refused and the last good configuration stays. Otherwise an error
   * disables only its object (`objectErrors`).
   */
  rejected: boolean;
  /** Per object (`routers.api`), as the snapshot carries them: the object is disabled or keeps its last good definition. */
  objectErrors: Record<string, string[]>;
  /** Where each object is defined (`file:line`), by `routers.api`: for errors found when it is compiled. */
  origins: { get(key: string): string | undefined };
  /** Accepted but not applied, per object (`routers.api`). */
  warnings: Record<string, string[]>;
  /** For the log when the read is applied, each `file:line: …`: static files or keys skipped, duplicate definitions ignored. */
  notices: string[];
  files: string[];
  /** Files with nothing but whitespace or comments in them: possibly being rewritten (see FileProvider). */
  empty: string[];
}

/**
 * Top-level keys of Traefik's static configuration (and Portier's
 * `dataDir`): a file with them is a static file placed among the dynamic
 * ones, as `traefik.yml` often is.
 */
const STATIC_KEYS = new Set([
  'global', 'entrypoints', 'providers', 'api', 'ping', 'log', 'accesslog', 'metrics', 'tracing', 'certificatesresolvers',
  'serverstransport', 'tcpserverstransport', 'hostresolver', 'experimental', 'pilot', 'core', 'spiffe', 'ocsp', 'datadir',
]);

/**
 * Reads and validates the file provider's files (YAML, JSON or TOML). A
 * directory's files are merged, the first definition of a name winning
 * (FileMerge). `reuse`, kept by the caller from one read to the next, lets
 * a large file's unchanged parts keep their parsed values.
 */
export function readDynamicFiles(opts: { filename?: string; directory?: string }, reuse?: Map<string, YamlReuse>): FileRead {
  const merge = new FileMerge();
  const out: FileRead = {
    config: merge.config, errors: [], rejected: false, objectErrors: merge.errors, origins: merge.origin, warnings: merge.warnings, notices: merge.notices, files: [], empty: [],
  };
  let files: string[];
  try {
    files = listFiles(opts);
  } catch (err) {
    out.errors.push(new PortierError('CONFIG_PARSE', `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`, { path: opts.filename ?? opts.directory }));
    out.rejected = true;
    return out;
  }
  for (const file of reuse?.keys() ?? []) if (!files.includes(file)) reuse!.delete(file);
  for (const file of files) {
    out.files.push(file);
    let parsed: ParsedConfig;
    try {
      let mine = reuse?.get(file);
      if (reuse && !mine) reuse.set(file, (mine = new YamlReuse()));
      parsed = readConfigFile(file, mine);
    } catch (err) {
      if (!(err instanceof PortierError)) throw err;
      out.errors.push(err);
      out.rejected = true;
      continue;
    }
    const top = parsed.value ?? {};
    if (!isRecord(top)) {
      out.errors.push(new PortierError('CONFIG_PARSE', 'expected a map at the top level', { path: `${file}:1` }));
      out.rejected = true;
      continue;
    }
    if (Object.keys(top).length === 0) {
      out.empty.push(file);
      continue;
    }
    const dynamic = dynamicPart(top, file, parsed, out.notices);
    if (!dynamic) continue;
    const decoded = decodeDynamic(dynamic, (e) => locate(e, file, parsed));
    out.errors.push(...decoded.all);
    if (decoded.errors.file) out.rejected = true;
    merge.add(decoded, file, parsed);
  }
  return out;
}

/**
 * A file's top level without Traefik's static keys, said in a notice; none
 * left means a static file, skipped. Keys Traefik does not know are left for
 * the dynamic decoder to refuse with their path.
 */
function dynamicPart(top: Record<string, unknown>, file: string, parsed: ParsedConfig, notices: string[]): Record<string, unknown> | undefined {
  const statics = Object.keys(top).filter((k) => STATIC_KEYS.has(k.toLowerCase()));
  if (statics.length === 0) return top;
  const where = `${file}:${parsed.lineOf(statics[0]) ?? 1}`;
  const rest = Object.fromEntries(Object.entries(top).filter(([k]) => !statics.includes(k)));
  if (Object.keys(rest).length === 0) {
    notices.push(`${where}: skipped: a static configuration (${statics.join(', ')}), not a dynamic one`);
    return undefined;
  }
  notices.push(`${where}: ${statics.join(', ')}: static configuration, ignored in a dynamic file`);
  return rest;
}
