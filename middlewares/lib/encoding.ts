/** Content-coding negotiation by Accept-Encoding q-values; ties go to the server's order of preference. */
export function negotiateEncoding(accept: string | undefined, supported: readonly string[], fallback?: string): string | undefined {
  if (accept === undefined) return fallback;
  const q = new Map<string, number>();
  for (const part of accept.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name === '') continue;
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qp ? Number(qp.slice(2)) : 1;
    q.set(name, Number.isFinite(value) ? value : 0);
  }
  const star = q.get('*');
  let best: string | undefined;
  let bestQ = 0;
  for (const enc of supported) {
    const v = q.get(enc) ?? star ?? 0;
    if (v > bestQ) {
      best = enc;
      bestQ = v;
    }
  }
  if (best === undefined && star !== undefined && star > 0 && fallback !== undefined) return fallback;
  return best;
}

/** Media type of a Content-Type value, lowercased, parameters dropped. */
export const mediaType = (contentType: string | number | string[] | undefined): string =>
  String(Array.isArray(contentType) ? contentType[0] : contentType ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();

/** Matches `type/subtype` exactly or `type/*`. */
export function mediaTypeIn(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    const m = mediaType(p);
    return m === type || (m.endsWith('/*') && type.startsWith(m.slice(0, -1)));
  });
}
