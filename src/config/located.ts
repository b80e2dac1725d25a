import { PortierError } from '../errors';

/**
 * A configuration document parsed with its positions kept, whatever its
 * syntax (YAML, JSON, TOML), so that a decoding error on
 * `http.routers.api.rule` can be reported as `file:12`.
 */
export interface ParsedConfig {
  value: unknown;
  /** 1-based line of the key at a dotted path (`a.b[2].c`), or of its nearest existing parent. */
  lineOf(path: string): number | undefined;
}

/** `a.b[2].c` → `a`, `b`, `2`, `c`: the decoders' path notation. */
export function splitPath(path: string): string[] {
  return path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '');
}

/** Rewrites a decoding error's path to `file:line: path: message`. */
export function locate(err: PortierError, file: string, parsed: ParsedConfig): PortierError {
  if (!err.path) return err;
  const line = parsed.lineOf(err.path);
  const where = line ? `${file}:${line}` : file;
  const message = err.message.slice(err.path.length + 2);
  return new PortierError(err.code, `${err.path}: ${message}`, { path: where });
}
