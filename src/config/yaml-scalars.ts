import { Schema, isScalar, type ScalarTag } from 'yaml';

/**
 * One-line scalars of block YAML, read as the `yaml` library reads them
 * (YAML 1.2, core schema) for yaml-subset.ts. Each reader returns the value
 * and the offset after it, or throws NotMine for anything it does not read
 * exactly the library's way (the library then parses the text itself).
 */

/** The text is outside the subset: parse it with the library. */
export class NotMine extends Error {}

export interface Read<T = unknown> {
  value: T;
  end: number;
}

/** The library's own core-schema tags resolve plain scalars, so `yes`, `017` or `.inf` read as they do there. */
const tags = new Schema({}).tags.filter((t): t is ScalarTag => !t.collection && t.default === true && t.test !== undefined);
/** Whether a plain scalar starting with this character code may be other than a string (`-+.~`, digits, `n`, `t`, `f`): the tags' tests are skipped for the rest. */
const MAYBE_TYPED = new Uint8Array(128);
for (const c of '-+.~0123456789nNtTfF') MAYBE_TYPED[c.charCodeAt(0)] = 1;
const resolveOptions = { intAsBigInt: false };

export function resolvePlain(source: string): unknown {
  const c = source.charCodeAt(0);
  if (c >= 128 || MAYBE_TYPED[c] === 0) return source;
  for (const tag of tags) {
    if (!tag.test!.test(source)) continue;
    const res = tag.resolve(source, () => { throw new NotMine(); }, resolveOptions);
    return isScalar(res) ? res.value : res;
  }
  return source;
}

/** Characters that start something other than a plain scalar (YAML 1.2 c-indicator), or that the library refuses there, and the space. */
const NOT_PLAIN_START = new Uint8Array(128);
for (const c of ' -?:,[]{}#&*!|>\'"%@`') NOT_PLAIN_START[c.charCodeAt(0)] = 1;

/** Whether a plain scalar may start at `p`, on a line ending at `end`: `-` only before a non-space, as in `-1` or `-foo`. */
export function plainStarts(text: string, p: number, end: number): boolean {
  if (p >= end) return false;
  const c = text.charCodeAt(p);
  if (c >= 128 || NOT_PLAIN_START[c] === 0) return true;
  return c === 45 && p + 1 < end && text.charCodeAt(p + 1) !== 32;
}

/** A single-quoted scalar at `p` closed on its line, which ends at `end`; `''` is a quote. */
export function singleQuoted(text: string, p: number, end: number): Read<string> {
  let out = '';
  let from = p + 1;
  for (;;) {
    const q = text.indexOf("'", from);
    if (q === -1 || q >= end) throw new NotMine();
    out += text.slice(from, q);
    if (text[q + 1] !== "'") return { value: out, end: q + 1 };
    out += "'";
    from = q + 2;
  }
}

const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', e: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
  N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029', ' ': ' ', '"': '"', '/': '/', '\\': '\\',
};
const HEX_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };

/** A double-quoted scalar at `p` closed on its line, which ends at `end`, with YAML's escapes; a line continuation is not mine. */
export function doubleQuoted(text: string, p: number, end: number): Read<string> {
  const close = text.indexOf('"', p + 1);
  if (close !== -1 && close < end) {
    const value = text.slice(p + 1, close);
    if (!value.includes('\\')) return { value, end: close + 1 };
  }
  let out = '';
  let from = p + 1;
  for (let i = from; i < end; i++) {
    const c = text[i];
    if (c === '"') return { value: out + text.slice(from, i), end: i + 1 };
    if (c !== '\\') continue;
    out += text.slice(from, i);
    const e = text[i + 1];
    if (e !== undefined && Object.hasOwn(ESCAPES, e)) {
      out += ESCAPES[e];
      i += 1;
    } else if (e !== undefined && Object.hasOwn(HEX_LENGTH, e)) {
      const digits = text.substr(i + 2, HEX_LENGTH[e]);
      const code = /^[0-9a-fA-F]+$/.test(digits) && digits.length === HEX_LENGTH[e] ? parseInt(digits, 16) : NaN;
      if (!(code <= 0x10ffff)) throw new NotMine();
      out += String.fromCodePoint(code);
      i += 1 + digits.length;
    } else throw new NotMine();
    from = i + 1;
  }
  throw new NotMine();
}
