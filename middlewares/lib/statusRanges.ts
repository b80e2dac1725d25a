import { configError } from '../../src/errors';
import type { Decoder } from '../../src/config/decode';
import { list, string } from '../../src/config/decode';

/** Status ranges as Traefik writes them: `500`, `500-599`, `404,418` (a list or a comma string). */
export type StatusRanges = readonly (readonly [number, number])[];

function parseRange(s: string, path: string): [number, number] {
  const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(s);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 100 || hi > 599 || lo > hi) throw configError(path, `expected a status or a range like 500-599, got ${JSON.stringify(s)}`);
  return [lo, hi];
}

export const statusRanges: Decoder<StatusRanges> = (raw, path) => list(string)(raw, path).map((s, i) => parseRange(s, `${path}[${i}]`));

/** A map from status ranges to a status (`statusRewrites`). */
export const statusRewrites: Decoder<[number, number, number][]> = (raw, path) => {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) throw configError(path, 'expected a map from status ranges to a status');
  return Object.entries(raw as Record<string, unknown>).map(([k, v]) => {
    const [lo, hi] = parseRange(k, `${path}.${k}`);
    const to = Number(v);
    if (!Number.isInteger(to) || to < 100 || to > 599) throw configError(`${path}.${k}`, `expected a status, got ${JSON.stringify(v)}`);
    return [lo, hi, to];
  });
};

export const inRanges = (status: number, ranges: StatusRanges): boolean => ranges.some(([lo, hi]) => status >= lo && status <= hi);
