import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import type { DynamicConfig } from '../../src/dynamic/model';
import { decodeDynamic } from '../../src/dynamic/decode-dynamic';
import { parseYaml, locate } from '../../src/config/yaml';
import { PortierError, configError } from '../../src/errors';
import { isRecord } from '../../src/config/decode';

const EXTENSIONS = new Set(['.yml', '.yaml', '.json']);

export interface FileRead {
  config: DynamicConfig;
  /** Every problem, each located as `file:line: path: message`. Any error rejects the whole read. */
  errors: PortierError[];
  /** Accepted but not applied, per object (`routers.api`). */
  warnings: Record<string, string[]>;
  files: string[];
}

/** The files a `filename` or `directory` setting covers, sorted so merges are deterministic. */
export function listFiles(opts: { filename?: string; directory?: string }): string[] {
  if (opts.filename) return [opts.filename];
  if (!opts.directory) return [];
  return readdirSync(opts.directory)
    .filter((f) => EXTENSIONS.has(extname(f).toLowerCase()) && !f.startsWith('.'))
    .map((f) => join(opts.directory!, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/**
 * Reads and validates the file provider's files. A directory's files are
 * merged; a name defined in two files is an error naming both, as Traefik
 * reports it.
 */
export function readDynamicFiles(opts: { filename?: string; directory?: string }): FileRead {
  const out: FileRead = { config: { http: { routers: {}, services: {}, middlewares: {}, serversTransports: {} } }, errors: [], warnings: {}, files: [] };
  let files: string[];
  try {
    files = listFiles(opts);
  } catch (err) {
    out.errors.push(new PortierError('CONFIG_PARSE', `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`, { path: opts.filename ?? opts.directory }));
    return out;
  }
  const origin = new Map<string, string>();
  for (const file of files) {
    out.files.push(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      out.errors.push(new PortierError('CONFIG_PARSE', `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`, { path: file }));
      continue;
    }
    let parsed;
    try {
      parsed = parseYaml(text, file);
    } catch (err) {
      if (err instanceof PortierError) out.errors.push(err);
      else throw err;
      continue;
    }
    if (parsed.value !== null && !isRecord(parsed.value)) {
      out.errors.push(new PortierError('CONFIG_PARSE', 'expected a map at the top level', { path: `${file}:1` }));
      continue;
    }
    const decoded = decodeDynamic(parsed.value);
    out.errors.push(...decoded.all.map((e) => locate(e, file, parsed)));
    for (const [key, list] of Object.entries(decoded.warnings)) (out.warnings[key] ??= []).push(...list);
    for (const section of ['routers', 'services', 'middlewares', 'serversTransports'] as const) {
      const items = decoded.config.http?.[section] ?? {};
      const into = out.config.http![section] as Record<string, unknown>;
      for (const [name, value] of Object.entries(items)) {
        const key = `${section}.${name}`;
        if (origin.has(key)) {
          out.errors.push(locate(configError(`http.${key}`, `also defined in ${origin.get(key)}`), file, parsed));
          continue;
        }
        origin.set(key, file);
        into[name] = value;
      }
    }
    const tls = decoded.config.tls;
    if (tls) {
      const into = (out.config.tls ??= {});
      into.certificates = [...(into.certificates ?? []), ...(tls.certificates ?? [])];
      into.options = { ...into.options, ...tls.options };
      into.stores = { ...into.stores, ...tls.stores };
    }
  }
  return out;
}
