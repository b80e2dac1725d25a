import { parse, TomlError } from 'smol-toml';
import { PortierError } from '../errors';
import { ParsedConfig, splitPath } from './located';
import { TomlLines } from './toml-lines';

/**
 * Parses TOML (Traefik's other configuration syntax) into the same plain
 * objects as YAML, so the same decoders, key names and case rules apply.
 */
export function parseToml(text: string, file: string): ParsedConfig {
  let value: unknown;
  try {
    // `__proto__` as a key would set the prototype of a decoded object rather than be a field.
    value = parse(text, { unsafeKeyBehaviour: 'throw' });
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const message = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
    throw new PortierError('CONFIG_PARSE', `invalid TOML: ${message}`, { path: `${file}:${err.line}` });
  }
  const lines = new TomlLines(text);
  return { value, lineOf: (path) => lines.lineOf(splitPath(path)) };
}
