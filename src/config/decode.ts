import { configError, PortierError } from '../errors';

/**
 * Typed decoders for configuration read from YAML, JSON, flags, env or
 * labels. Labels and env give strings, so scalars are coerced from strings;
 * object keys match case-insensitively (Traefik's labels are) and come out
 * in their canonical spelling; an unknown key is an error naming its path.
 *
 * Without a context a decoder throws its first error. With one (decodeAll),
 * objects, lists and maps record each error and go on, so that one run
 * reports every mistake; keys accepted but not applied are warnings there.
 */
export type Decoder<T> = (raw: unknown, path: string, ctx?: DecodeContext) => T;

export interface DecodeContext {
  /** Records an error; the field it is in is left at its default (or out) and decoding goes on. */
  error(err: PortierError): void;
  /** A key accepted but not applied, or deprecated: said on the object, never fatal. */
  warn(path: string, message: string): void;
}

/** Everything one decode found. `value` is only whole when there is no error. */
export interface Decoding<T> {
  value?: T;
  errors: PortierError[];
  warnings: PortierError[];
}

/** Decodes with every error and warning collected instead of stopping at the first error. */
export function decodeAll<T>(decode: Decoder<T>, raw: unknown, path: string): Decoding<T> {
  const out: Decoding<T> = { errors: [], warnings: [] };
  const ctx: DecodeContext = {
    error: (err) => out.errors.push(err),
    warn: (at, message) => out.warnings.push(configError(at, message, 'CONFIG_WARNING')),
  };
  try {
    out.value = decode(raw, path, ctx);
  } catch (err) {
    if (err instanceof PortierError) out.errors.push(err);
    // A follow-on fault of a value already reported broken (a check run on a half-decoded object).
    else if (out.errors.length === 0) throw err;
  }
  return out;
}

/** Several configuration errors at once, each with its own path (and file:line once located). */
export class ConfigErrors extends PortierError {
  constructor(readonly errors: PortierError[]) {
    super(errors[0]?.code ?? 'CONFIG_INVALID', errors.map((e) => e.message).join('\n'));
  }
}

/** Every error an exception stands for: the list of a ConfigErrors, or the error itself. */
export const errorsOf = (err: PortierError): PortierError[] => (err instanceof ConfigErrors ? err.errors : [err]);

/** Records `err` in `ctx` when there is one (decoding goes on), else throws it: for decoders' own checks. */
export function fail(err: unknown, ctx: DecodeContext | undefined): void {
  if (!ctx || !(err instanceof PortierError)) throw err;
  for (const e of errorsOf(err)) ctx.error(e);
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

export const string: Decoder<string> = (raw, path) => {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw configError(path, `expected a string, got ${describe(raw)}`);
};

export const number: Decoder<number> = (raw, path) => {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n === 'number' && Number.isFinite(n)) return n;
  throw configError(path, `expected a number, got ${JSON.stringify(raw)}`);
};

export const int: Decoder<number> = (raw, path) => {
  const n = number(raw, path);
  if (!Number.isInteger(n)) throw configError(path, `expected an integer, got ${n}`);
  return n;
};

export const boolean: Decoder<boolean> = (raw, path) => {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) return raw.trim().toLowerCase() === 'true';
  throw configError(path, `expected true or false, got ${JSON.stringify(raw)}`);
};

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations (`1m30s`, `250ms`); a bare number means seconds, as in Traefik. Returns milliseconds. */
export const duration: Decoder<number> = (raw, path) => {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw * 1000;
  const s = typeof raw === 'string' ? raw.trim() : '';
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    at = re.lastIndex;
  }
  if (s === '' || at !== s.length) throw configError(path, `expected a duration like 10s or 1m30s, got ${JSON.stringify(raw)}`);
  return total;
};

export function oneOf<T extends string>(...values: T[]): Decoder<T> {
  return (raw, path) => {
    const s = string(raw, path);
    const hit = values.find((v) => v.toLowerCase() === s.toLowerCase());
    if (hit === undefined) throw configError(path, `expected one of ${values.join(', ')}, got ${JSON.stringify(s)}`);
    return hit;
  };
}

/** A list; a string is split on commas (labels write lists that way). */
export function list<T>(item: Decoder<T>): Decoder<T[]> {
  return (raw, path, ctx) => {
    const items = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter((s) => s !== '') : raw;
    let entries: [string, unknown][];
    if (isRecord(items) && Object.keys(items).every((k) => /^\d+$/.test(k))) {
      // Labels address list items by index: `servers[0].url` arrives as {"0": {...}}.
      entries = Object.keys(items).sort((a, b) => Number(a) - Number(b)).map((k) => [k, items[k]]);
    } else if (Array.isArray(items)) entries = items.map((v, i) => [String(i), v]);
    else throw configError(path, `expected a list, got ${describe(raw)}`);
    const out: T[] = [];
    for (const [k, v] of entries) {
      try {
        out.push(item(v, `${path}[${k}]`, ctx));
      } catch (err) {
        fail(err, ctx);
      }
    }
    return out;
  };
}

/** A map with free-form keys (header names, user names). */
export function record<T>(value: Decoder<T>): Decoder<Record<string, T>> {
  return (raw, path, ctx) => {
    if (!isRecord(raw)) throw configError(path, `expected a map, got ${describe(raw)}`);
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(raw)) {
      try {
        out[k] = value(v, `${path}.${k}`, ctx);
      } catch (err) {
        fail(err, ctx);
      }
    }
    return out;
  };
}

export function optional<T>(d: Decoder<T>): Decoder<T | undefined> {
  return (raw, path, ctx) => (raw === undefined || raw === null ? undefined : d(raw, path, ctx));
}

export function withDefault<T>(d: Decoder<T>, fallback: T): Decoder<T> {
  // A fresh copy each time: callers fill in defaults (entrypoints) and must not change the next decode's.
  return (raw, path, ctx) => (raw === undefined || raw === null ? (typeof fallback === 'object' && fallback !== null ? structuredClone(fallback) : fallback) : d(raw, path, ctx));
}

export function required<T>(d: Decoder<T>): Decoder<T> {
  return (raw, path, ctx) => {
    if (raw === undefined || raw === null || raw === '') throw configError(path, 'is required', 'CONFIG_MISSING');
    return d(raw, path, ctx);
  };
}

/**
 * A key Traefik knows that Portier accepts without applying: a warning
 * naming the key says why it has no effect. With `shape`, its value is still
 * checked, so that a typo inside it is not taken for Traefik's spelling.
 */
export function ignored(why: string, shape?: Decoder<unknown>): Decoder<undefined> {
  return (raw, path, ctx) => {
    if (raw === undefined) return undefined;
    shape?.(raw, path, ctx);
    ctx?.warn(path, `${why}, ignored`);
    return undefined;
  };
}

/** A Traefik switch Portier has nothing behind: off is silent, on is a warning saying so. */
export function ignoredSwitch(why: string): Decoder<undefined> {
  return (raw, path, ctx) => {
    if (raw !== undefined && raw !== null && boolean(raw, path)) ctx?.warn(path, `${why}, ignored`);
    return undefined;
  };
}

/** A key that works as in Traefik v2 but is deprecated there: applied, with a warning saying what replaces it. */
export function deprecated<T>(d: Decoder<T>, instead: string): Decoder<T> {
  return (raw, path, ctx) => {
    const value = d(raw, path, ctx);
    if (raw !== undefined && raw !== null) ctx?.warn(path, `deprecated in Traefik v2 and removed in v3 (${instead}); applied`);
    return value;
  };
}

type Fields = Record<string, Decoder<unknown>>;
type Out<D> = D extends Decoder<infer T> ? T : never;
export type Decoded<F extends Fields> = {
  [K in keyof F as undefined extends Out<F[K]> ? never : K]: Out<F[K]>;
} & {
  [K in keyof F as undefined extends Out<F[K]> ? K : never]?: Out<F[K]>;
};

/**
 * An object with known fields. A key written in any case maps to its
 * canonical field; two spellings of one field or an unknown key are errors.
 * A missing object decodes as `{}`, so its fields' defaults apply.
 */
export function object<F extends Fields>(fields: F, opts: { allowEmptyString?: boolean } = {}): Decoder<Decoded<F>> {
  const canonical = new Map(Object.keys(fields).map((k) => [k.toLowerCase(), k]));
  return (raw, path, ctx) => {
    // `tls: true` on labels, or an empty YAML section (`api:`), mean "on with defaults".
    if (raw === null || raw === undefined || raw === true || (opts.allowEmptyString && raw === '')) raw = {};
    if (typeof raw === 'string' && /^true$/i.test(raw)) raw = {};
    if (!isRecord(raw)) throw configError(path, `expected a map, got ${describe(raw)}`);
    const seen: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
      const name = canonical.get(key.toLowerCase());
      const at = path ? `${path}.${key}` : key;
      if (name === undefined) fail(configError(at, `unknown key${suggest(key, Object.keys(fields))}`, 'CONFIG_UNKNOWN_KEY'), ctx);
      else if (name in seen) fail(configError(at, `given twice (also as another spelling of ${name})`), ctx);
      else seen[name] = value;
    }
    const out: Record<string, unknown> = {};
    for (const [name, decode] of Object.entries(fields)) {
      const at = path ? `${path}.${name}` : name;
      let v: unknown;
      try {
        v = decode(seen[name], at, ctx);
      } catch (err) {
        fail(err, ctx);
        // Reported: the field takes the value it has when absent (its default), if it has one.
        try {
          v = decode(undefined, at);
        } catch {
          v = undefined;
        }
      }
      if (v !== undefined) out[name] = v;
    }
    return out as Decoded<F>;
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function suggest(key: string, known: string[]): string {
  const k = key.toLowerCase();
  const near = known.find((c) => editDistance(c.toLowerCase(), k) <= 2);
  return near ? ` (did you mean ${near}?)` : '';
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}
