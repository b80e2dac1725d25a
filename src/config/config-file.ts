import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { PortierError } from '../errors';
import type { ParsedConfig } from './located';
import { parseToml } from './toml';
import { parseYaml, type YamlReuse } from './yaml';

/**
 * Reads a static or dynamic configuration file in the syntax its extension
 * names, as Traefik does: `.toml` is TOML, anything else YAML (of which JSON
 * is a subset). An unreadable or unparsable file is an error at `file` or
 * `file:line`. `reuse` carries a YAML file's pieces from one read to the
 * next (yaml.ts).
 */
export function readConfigFile(file: string, reuse?: YamlReuse): ParsedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PortierError('CONFIG_PARSE', `cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`, { path: file });
  }
  return extname(file).toLowerCase() === '.toml' ? parseToml(text, file) : parseYaml(text, file, reuse);
}
