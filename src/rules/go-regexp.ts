/**
 * Traefik rules carry Go (RE2) regexps. Most of that syntax means the same in
 * JavaScript; this rewrites the parts that differ and rejects what Node 20
 * cannot express, so a rule never silently matches something else.
 */

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9', graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ', upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

const escapeLiteral = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** Translate a Go regexp to JS source and flags; throws Error with a short reason. */
export function translateGoRegexp(pattern: string): { source: string; flags: string } {
  let flags = '';
  let i = 0;
  const leading = /^\(\?([imsU]+)\)/.exec(pattern);
  if (leading) {
    if (leading[1].includes('U')) throw new Error('the U (ungreedy) flag is not supported');
    flags = [...new Set(leading[1])].join('');
    i = leading[0].length;
  }
  let out = '';
  let inClass = false;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined) throw new Error('trailing backslash');
      if (e === 'Q') {
        const stop = pattern.indexOf('\\E', i + 2);
        const literal = pattern.slice(i + 2, stop < 0 ? pattern.length : stop);
        out += escapeLiteral(literal);
        i = stop < 0 ? pattern.length : stop + 2;
        continue;
      }
      if (!inClass && e === 'z') out += '$';
      else if (!inClass && e === 'A') out += '^';
      else out += c + e;
      if (e === 'p' || e === 'P') flags += flags.includes('u') ? '' : 'u';
      i += 2;
      continue;
    }
    if (inClass) {
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(pattern.slice(i));
      if (posix) {
        const range = POSIX_CLASSES[posix[2]];
        if (!range) throw new Error(`unknown character class [:${posix[2]}:]`);
        if (posix[1]) throw new Error('negated POSIX classes inside brackets are not supported');
        out += range;
        i += posix[0].length;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (pattern[i] === '^') { out += '^'; i++; }
      // Go reads a `]` right after the opening bracket as a literal; JS would close an empty class.
      if (pattern[i] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      if (pattern.startsWith('(?P<', i)) { out += '(?<'; i += 4; continue; }
      if (/^\(\?[imsU-]+[:)]/.test(pattern.slice(i))) {
        throw new Error('inline flags are only supported as a leading (?i), (?m) or (?s)');
      }
    }
    out += c;
    i++;
  }
  return { source: out, flags };
}

/** Compile a Go regexp, optionally anchored and case-insensitive. */
export function compileGoRegexp(pattern: string, opts: { ignoreCase?: boolean } = {}): RegExp {
  const { source, flags } = translateGoRegexp(pattern);
  return new RegExp(source, opts.ignoreCase && !flags.includes('i') ? flags + 'i' : flags);
}
