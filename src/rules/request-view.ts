import type { MatchRequest } from './types';

/**
 * Derived views of a request shared by all rules evaluated against it: the
 * query string is parsed at most once per request, and only when some rule
 * actually looks at it.
 */

const queryCache = new WeakMap<MatchRequest, Map<string, string[]>>();

/** Go's QueryUnescape: `+` is a space; returns null for a malformed escape. */
function unescapeQuery(s: string): string | null {
  if (!s.includes('%')) return s.includes('+') ? s.replace(/\+/g, ' ') : s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === '+') {
      bytes.push(32);
    } else {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Like Go's url.ParseQuery: pairs with a `;` or a bad escape are dropped, not fatal. */
export function parseQuery(query: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  if (query === '') return params;
  for (const pair of query.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = unescapeQuery(eq < 0 ? pair : pair.slice(0, eq));
    const value = unescapeQuery(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === null || value === null) continue;
    const list = params.get(key);
    if (list) list.push(value);
    else params.set(key, [value]);
  }
  return params;
}

export function queryParams(req: MatchRequest): Map<string, string[]> {
  let params = queryCache.get(req);
  if (!params) {
    params = parseQuery(req.query);
    queryCache.set(req, params);
  }
  return params;
}

function valueMatches(v: string, pred: (v: string) => boolean): boolean {
  if (pred(v)) return true;
  // Node joins repeated header lines with ", "; Go would see each line as its own value.
  if (!v.includes(', ')) return false;
  for (const part of v.split(', ')) if (pred(part)) return true;
  return false;
}

/** True when any value of the header (name in lowercase) satisfies `pred`. */
export function anyHeaderValue(req: MatchRequest, lowerName: string, pred: (v: string) => boolean): boolean {
  const raw = req.headers[lowerName];
  if (raw === undefined) return false;
  if (typeof raw === 'string') return valueMatches(raw, pred);
  for (const v of raw) if (valueMatches(v, pred)) return true;
  return false;
}

export function describeHeader(req: MatchRequest, lowerName: string, displayName: string): string {
  const raw = req.headers[lowerName];
  if (raw === undefined) return `header ${displayName} is absent`;
  const values = typeof raw === 'string' ? [raw] : raw;
  return `header ${displayName} is ${values.map((v) => JSON.stringify(v)).join(', ')}`;
}

export function describeQueryParam(req: MatchRequest, key: string): string {
  const values = queryParams(req).get(key);
  if (!values) return `query parameter ${JSON.stringify(key)} is absent (query is ${JSON.stringify(req.query)})`;
  return `query parameter ${JSON.stringify(key)} is ${values.map((v) => JSON.stringify(v)).join(', ')}`;
}
