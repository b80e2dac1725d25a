import { NotMine, doubleQuoted, plainStarts, resolvePlain, singleQuoted, type Read } from './yaml-scalars';

/**
 * A reader of the common subset of block YAML, for the pieces of a large
 * file (yaml-blocks.ts): the `yaml` library spends ~100 µs on each small
 * piece, a file of 10,000 routers a second. It reads block maps and block
 * sequences of one-line plain, single- and double-quoted scalars, `[]`,
 * `{}` and one-line flow sequences of scalars, and comments, into exactly
 * the values the library's `toJS` gives. Anything else (anchors, aliases,
 * tags, block or multi-line scalars, flow maps, `?` keys, document
 * markers, tabs, duplicate keys, keys that are not strings, any error) is
 * not its: it answers undefined and the library parses the text, reporting
 * errors as it always did.
 */

/**
 * A document's top map as its entries, in their order: a piece's keys are
 * router names, unique to it, and an object of them would cost V8 a new
 * hidden class per key (yaml.ts assembles them into one map anyway).
 */
export interface Entries {
  keys: string[];
  values: unknown[];
  /** 1-based line of each key. */
  lines: number[];
}

/** Line breaks other than \n, tabs, a byte order mark, control characters: the library's reading of these is not repeated here. */
const FOREIGN = /[\t\r\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;
const MARKER = /^(?:---|\.\.\.)(?: |$)/;
const FLOW_INDICATOR = /[[\]{},]/;
/** The library refuses implicit keys longer than this. */
const MAX_KEY = 1024;

/** The document's top map read (no entries for a document of only comments), or undefined when it is not in the subset. */
export function readSubset(text: string): Entries | undefined {
  if (FOREIGN.test(text)) return undefined;
  const reader = new Reader();
  const raw = text.split('\n');
  for (let n = 0; n < raw.length; n++) {
    const line = raw[n];
    let indent = 0;
    while (line.charCodeAt(indent) === 32) indent++;
    if (indent === line.length || line.charCodeAt(indent) === 35) continue;
    if (indent === 0 && MARKER.test(line)) return undefined;
    reader.texts.push(line);
    reader.indents.push(indent);
    reader.nos.push(n + 1);
  }
  const top: Entries = { keys: [], values: [], lines: [] };
  try {
    if (reader.texts.length > 0) reader.document(top);
    return top;
  } catch (err) {
    if (err instanceof NotMine) return undefined;
    throw err;
  }
}

/** Reads the lines that are not blank or comments (the only ones this subset has to look at), as parallel arrays: no object per line. */
class Reader {
  readonly texts: string[] = [];
  readonly indents: number[] = [];
  /** 1-based line of each in the document. */
  readonly nos: number[] = [];
  /** The current line, and the column its unread part starts at (past a sequence's `- `). */
  private i = 0;
  private col = 0;
  /** The line's text, or undefined past the last. */
  private t: string | undefined;
  /** Where the key `key()` read ends, past its `:`. */
  private keyEnd = 0;

  document(top: Entries): void {
    this.t = this.texts[0];
    this.col = this.indents[0];
    if (this.seqItemAt(this.col)) throw new NotMine();
    this.entries(this.col, top, true);
    if (this.t !== undefined) throw new NotMine();
  }

  private nextLine(): void {
    this.i++;
    this.t = this.texts[this.i];
    this.col = this.indents[this.i] ?? 0;
  }

  private seqItemAt(p: number): boolean {
    const t = this.t!;
    return t.charCodeAt(p) === 45 && (p + 1 === t.length || t.charCodeAt(p + 1) === 32);
  }

  /** The node starting on the next line, under a parent at `col`: deeper, or a sequence at `col` itself (a map's value), or none. */
  private below(col: number, sameColumnSeq: boolean): unknown {
    if (this.t === undefined || this.col < col) return null;
    if (this.col > col) return this.seqItemAt(this.col) ? this.seq(this.col) : this.map(this.col);
    return sameColumnSeq && this.seqItemAt(col) ? this.seq(col) : null;
  }

  /** The first column at or after `p` that is not a space. */
  private rest(p: number): number {
    const t = this.t!;
    while (t.charCodeAt(p) === 32) p++;
    return p;
  }

  /** After a scalar: only spaces and a comment may follow it on its line. */
  private endOfLine(p: number): void {
    const t = this.t!;
    const q = this.rest(p);
    if (q < t.length && !(t.charCodeAt(q) === 35 && t.charCodeAt(q - 1) === 32)) throw new NotMine();
    this.nextLine();
  }

  /** Whether the line is done at `p`: its end, or a comment (`p` follows a space). */
  private done(p: number): boolean {
    return p === this.t!.length || this.t!.charCodeAt(p) === 35;
  }

  private seq(col: number): unknown[] {
    const out: unknown[] = [];
    while (this.t !== undefined && this.col === col && this.seqItemAt(col)) {
      const p = this.rest(col + 1);
      if (this.done(p)) {
        this.nextLine();
        out.push(this.below(col, false));
      } else {
        out.push(this.inline(p));
      }
      this.mustEnd(col);
    }
    return out;
  }

  /** A sequence item's content on its own line at `p`: a compact sequence or map, or a scalar. */
  private inline(p: number): unknown {
    this.col = p;
    if (this.seqItemAt(p)) return this.seq(p);
    if (this.key(p) !== undefined) return this.map(p);
    return this.scalarToEnd(p);
  }

  /** A block at `col` ends at a line less indented, or at a sibling; a deeper line here is something not read. */
  private mustEnd(col: number): void {
    if (this.t !== undefined && this.col > col) throw new NotMine();
  }

  private map(col: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.entries(col, out, false);
    return out;
  }

  /**
   * The entries of a block map at `col`, into an object or, for the top
   * map, a list of entries. `__proto__` and `<<` (a merge key in YAML
   * 1.1), and a key given twice, are the library's.
   */
  private entries(col: number, into: Record<string, unknown> | Entries, isTop: boolean): void {
    const top = isTop ? (into as Entries) : undefined;
    const seen = isTop ? new Set<string>() : undefined;
    while (this.t !== undefined && this.col === col) {
      const no = this.nos[this.i];
      const key = this.key(col);
      if (key === undefined || key === '__proto__' || key === '<<') throw new NotMine();
      const p = this.rest(this.keyEnd);
      let value: unknown;
      if (this.done(p)) {
        this.nextLine();
        value = this.below(col, true);
      } else {
        value = this.scalarToEnd(p);
      }
      if (top) {
        if (seen!.has(key)) throw new NotMine();
        seen!.add(key);
        top.keys.push(key);
        top.values.push(value);
        top.lines.push(no);
      } else {
        const out = into as Record<string, unknown>;
        if (Object.hasOwn(out, key)) throw new NotMine();
        out[key] = value;
      }
      this.mustEnd(col);
    }
  }

  /** The `key:` at `p` (plain, or quoted on one line), a string, its end in `keyEnd`; undefined when the line holds no key. */
  private key(p: number): string | undefined {
    const t = this.t!;
    const c = t.charCodeAt(p);
    if (c === 34 || c === 39) {
      const key = c === 34 ? doubleQuoted(t, p) : singleQuoted(t, p);
      const q = this.rest(key.end);
      if (t.charCodeAt(q) !== 58 || (q + 1 < t.length && t.charCodeAt(q + 1) !== 32)) return undefined;
      this.keyEnd = q + 1;
      return key.value;
    }
    if (!plainStarts(t, p)) return undefined;
    // The first `:` before a space or the line's end, unless a comment starts before it.
    let j = t.indexOf(':', p);
    while (j !== -1 && j + 1 < t.length && t.charCodeAt(j + 1) !== 32) j = t.indexOf(':', j + 1);
    if (j === -1) return undefined;
    const comment = t.indexOf(' #', p);
    if (comment !== -1 && comment < j) return undefined;
    const source = t.slice(p, trimSpaces(t, p, j));
    // Flow indicators in a key, or a key that is a number, null or boolean: read by the library.
    if (source.length > MAX_KEY || FLOW_INDICATOR.test(source) || resolvePlain(source) !== source) throw new NotMine();
    this.keyEnd = j + 1;
    return source;
  }

  /** A scalar, `[]`, `{}` or a flow sequence of scalars filling the rest of the line at `p`. */
  private scalarToEnd(p: number): unknown {
    const t = this.t!;
    const c = t.charCodeAt(p);
    let read: Read;
    if (c === 34) read = doubleQuoted(t, p);
    else if (c === 39) read = singleQuoted(t, p);
    else if (c === 91) read = flowSeq(t, p);
    else if (c === 123) {
      const q = this.rest(p + 1);
      if (t.charCodeAt(q) !== 125) throw new NotMine();
      read = { value: {}, end: q + 1 };
    } else {
      if (!plainStarts(t, p)) throw new NotMine();
      const comment = t.indexOf(' #', p);
      const end = comment === -1 ? t.length : comment;
      const content = trimSpaces(t, p, end);
      // `: ` inside, or a `:` ending it, makes a nested map: an error for the library.
      const colon = t.indexOf(': ', p);
      if ((colon !== -1 && colon < content) || t.charCodeAt(content - 1) === 58) throw new NotMine();
      this.endOfLine(end);
      return resolvePlain(t.slice(p, content));
    }
    this.endOfLine(read.end);
    return read.value;
  }
}

/** `[a, "b", 3]` on one line, of scalars only; a trailing comma, a pair or a nested collection is not mine. */
function flowSeq(t: string, p: number): Read<unknown[]> {
  const out: unknown[] = [];
  let q = p + 1;
  const skip = (): void => {
    while (t[q] === ' ') q++;
  };
  skip();
  if (t[q] === ']') return { value: out, end: q + 1 };
  for (;;) {
    skip();
    if (t[q] === '"' || t[q] === "'") {
      const read = t[q] === '"' ? doubleQuoted(t, q) : singleQuoted(t, q);
      out.push(read.value);
      q = read.end;
    } else {
      // In a flow collection, `-` starts a plain scalar only before a character that is neither a space nor a flow indicator.
      if (!plainStarts(t, q) || (t[q] === '-' && ',[]{}'.includes(t[q + 1]))) throw new NotMine();
      let j = q;
      while (j < t.length && t[j] !== ',' && t[j] !== ']') {
        if ('[]{}#:\'"'.includes(t[j])) throw new NotMine();
        j++;
      }
      out.push(resolvePlain(t.slice(q, trimSpaces(t, q, j))));
      q = j;
    }
    skip();
    if (t[q] === ']') return { value: out, end: q + 1 };
    if (t[q] !== ',') throw new NotMine();
    q++;
  }
}

/** The end of t[from, to) without its trailing spaces (only spaces: YAML does not trim other white space). */
function trimSpaces(t: string, from: number, to: number): number {
  while (to > from && t.charCodeAt(to - 1) === 32) to--;
  return to;
}
