import { configError } from '../../src/errors';
import { string } from '../../src/config/decode';
import type { Decoder } from '../../src/config/decode';

/**
 * Traefik's options hold Go (RE2) regular expressions and `$1`/`${name}`
 * replacements. The common subset maps onto JavaScript: `(?P<n>…)` named
 * groups and `${…}` references are rewritten; anything JavaScript rejects is
 * a configuration error at the option's path.
 */
export function goRegex(source: string, path: string, flags = ''): RegExp {
  const js = source.replace(/\(\?P</g, '(?<');
  try {
    return new RegExp(js, flags);
  } catch (err) {
    throw configError(path, `invalid regular expression: ${(err as Error).message}`);
  }
}

export function goReplacement(replacement: string): string {
  return replacement.replace(/\$\{(\d+)\}/g, '$$$1').replace(/\$\{(\w+)\}/g, '$$<$1>');
}

/** A string option holding a Go regex; validated at decode time so the error names the option. */
export const regexOption: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  goRegex(s, path);
  return s;
};
