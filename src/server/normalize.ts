import { routingPath } from '../rules/routing-path';

/**
 * The request target as Portier routes and forwards it, so that what the
 * path matchers saw is what the backend gets (no `%2e%2e` or `//` bypass):
 * 1. unreserved %XX decoded, reserved ones kept encoded (`%2F` stays: an
 *    encoded slash never splits a segment);
 * 2. dot-segments removed (RFC 3986 5.2.4), including decoded `%2e`;
 * 3. runs of `/` merged into one.
 * Returns null for a target that is not origin-form after that.
 */
export function normalizeTarget(rawPath: string): string | null {
  if (!rawPath.startsWith('/')) return null;
  // Most paths have nothing to decode, resolve or merge: they are their own normal form.
  if (PLAIN_PATH.test(rawPath)) return rawPath;
  const decoded = routingPath(rawPath);
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === '.' || (seg === '' && !last)) {
      if (last) out.push('');
      continue;
    }
    if (seg === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}

/** Only unreserved and sub-delim characters, no `%`, no segment starting with a dot, no empty segment before the last. */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9\-_~!$&'()*+,;=:@][A-Za-z0-9\-._~!$&'()*+,;=:@]*)*\/?$/;

/** Splits a request target into its path and raw query (without `?`). */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** Which encoded characters a request path may carry (Traefik's `encodedCharacters` names); all refused by default. */
export interface EncodedCharacters {
  allowEncodedSlash: boolean;
  allowEncodedBackSlash: boolean;
  allowEncodedNullCharacter: boolean;
  allowEncodedSemicolon: boolean;
  allowEncodedPercent: boolean;
  allowEncodedQuestionMark: boolean;
  allowEncodedHash: boolean;
}

export const ENCODED_CHARACTERS_DEFAULTS: EncodedCharacters = {
  allowEncodedSlash: false,
  allowEncodedBackSlash: false,
  allowEncodedNullCharacter: false,
  allowEncodedSemicolon: false,
  allowEncodedPercent: false,
  allowEncodedQuestionMark: false,
  allowEncodedHash: false,
};

const ESCAPE_OPTION: Record<string, keyof EncodedCharacters> = {
  '2F': 'allowEncodedSlash',
  '5C': 'allowEncodedBackSlash',
  '00': 'allowEncodedNullCharacter',
  '3B': 'allowEncodedSemicolon',
  '25': 'allowEncodedPercent',
  '3F': 'allowEncodedQuestionMark',
  '23': 'allowEncodedHash',
};

/**
 * The first escape in `rawPath` that is not allowed, or null. A backend
 * that decodes `%2F` or `%5C` into a separator, or decodes `%25` twice,
 * sees a different path than the one the router matched; a raw backslash
 * counts as an encoded one, because some backends treat it as a separator.
 */
export function forbiddenEscape(rawPath: string, allow: Partial<EncodedCharacters> = {}): string | null {
  if (!rawPath.includes('%') && !rawPath.includes('\\')) return null;
  const allowed = { ...ENCODED_CHARACTERS_DEFAULTS, ...allow };
  if (!allowed.allowEncodedBackSlash && rawPath.includes('\\')) return '\\';
  for (const m of rawPath.matchAll(/%([0-9A-Fa-f]{2})/g)) {
    const option = ESCAPE_OPTION[m[1].toUpperCase()];
    if (option && !allowed[option]) return m[0];
  }
  return null;
}
