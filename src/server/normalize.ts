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

/** Splits a request target into its path and raw query (without `?`). */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}
