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
  const top: Entries = { keys: [], values: [], lines: [] };
  try {
    new Reader(text).document(top);
    return top;
  } catch (err) {
    if (err instanceof NotMine) return undefined;
    throw err;
  }
}

/**
 * Reads the lines that are not blank or comments (the only ones this
 * subset has to look at), one after the other, as offsets in the text: no
 * string or object per line. Positions are offsets in the text; columns
 * count from a line's start.
 */
class Reader {
  /** The current line: its 1-based number, bounds (`start` past the text: none left), and the column its unread part starts at (past a sequence's `- `). */
  private no = 0;
  private start = 0;
  private end = -1;
  private col = 0;
  /** Where the key `key()` read ends, past its `:`. */
  private keyEnd = 0;
  private readonly comment: Next;
  private readonly colon: Next;
  private readonly anyColon: Next;

  constructor(private readonly s: string) {
    this.comment = new Next(s, ' #');
    this.colon = new Next(s, ': ');
    this.anyColon = new Next(s, ':');
  }

  document(top: Entries): void {
    this.nextLine();
    if (!this.more()) return;
    if (this.seqItemAt(this.start + this.col)) throw new NotMine();
    this.entries(this.col, top, true);
    if (this.more()) throw new NotMine();
  }

  private more(): boolean {
    return this.start < this.s.length;
  }

  /** On to the next line that is not blank or a comment; a document marker is not mine. */
  private nextLine(): void {
    const s = this.s;
    for (;;) {
      this.no++;
      this.start = this.end + 1;
      if (this.start >= s.length) return;
      const end = s.indexOf('\n', this.start);
      this.end = end === -1 ? s.length : end;
      let p = this.start;
      while (s.charCodeAt(p) === 32) p++;
      if (p === this.end || s.charCodeAt(p) === 35) continue;
      if (p === this.start && MARKER.test(s.slice(p, Math.min(this.end, p + 4)))) throw new NotMine();
      this.col = p - this.start;
      return;
    }
  }

  private seqItemAt(p: number): boolean {
    return this.s.charCodeAt(p) === 45 && (p + 1 === this.end || this.s.charCodeAt(p + 1) === 32);
  }

  /** The node starting on the next line, under a parent at `col`: deeper, or a sequence at `col` itself (a map's value), or none. */
  private below(col: number, sameColumnSeq: boolean): unknown {
    if (!this.more() || this.col < col) return null;
    if (this.col > col) return this.seqItemAt(this.start + this.col) ? this.seq(this.col) : this.map(this.col);
    return sameColumnSeq && this.seqItemAt(this.start + col) ? this.seq(col) : null;
  }

  /** The first position at or after `p` that is not a space. */
  private rest(p: number): number {
    while (this.s.charCodeAt(p) === 32) p++;
    return p;
  }

  /** Whether the line is done at `p`: its end, or a comment (`p` follows a space). */
  private done(p: number): boolean {
    return p === this.end || this.s.charCodeAt(p) === 35;
  }

  /** After a scalar: only spaces and a comment may follow it on its line. */
  private endOfLine(p: number): void {
    const q = this.rest(p);
    if (q < this.end && !(this.s.charCodeAt(q) === 35 && this.s.charCodeAt(q - 1) === 32)) throw new NotMine();
    this.nextLine();
  }

  private seq(col: number): unknown[] {
    const out: unknown[] = [];
    while (this.more() && this.col === col && this.seqItemAt(this.start + col)) {
      const p = this.rest(this.start + col + 1);
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
    this.col = p - this.start;
    if (this.seqItemAt(p)) return this.seq(this.col);
    if (this.key(p) !== undefined) return this.map(this.col);
    return this.scalarToEnd(p);
  }

  /** A block at `col` ends at a line less indented, or at a sibling; a deeper line here is something not read. */
  private mustEnd(col: number): void {
    if (this.more() && this.col > col) throw new NotMine();
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
    while (this.more() && this.col === col) {
      const no = this.no;
      const key = this.key(this.start + col);
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
    const { s, end } = this;
    const c = s.charCodeAt(p);
    if (c === 34 || c === 39) {
      const key = c === 34 ? doubleQuoted(s, p, end) : singleQuoted(s, p, end);
      const q = this.rest(key.end);
      if (s.charCodeAt(q) !== 58 || (q + 1 < end && s.charCodeAt(q + 1) !== 32)) return undefined;
      this.keyEnd = q + 1;
      return key.value;
    }
    if (!plainStarts(s, p, end)) return undefined;
    // The first `:` before a space or the line's end, unless a comment starts before it.
    let j = this.anyColon.after(p);
    while (j !== -1 && j + 1 < end && s.charCodeAt(j + 1) !== 32) j = this.anyColon.after(j + 1);
    if (j === -1 || j >= end) return undefined;
    const comment = this.comment.after(p);
    if (comment !== -1 && comment < j) return undefined;
    const source = s.slice(p, trimSpaces(s, p, j));
    // Flow indicators in a key, or a key that is a number, null or boolean: read by the library.
    if (source.length > MAX_KEY || FLOW_INDICATOR.test(source) || resolvePlain(source) !== source) throw new NotMine();
    this.keyEnd = j + 1;
    return source;
  }

  /** A scalar, `[]`, `{}` or a flow sequence of scalars filling the rest of the line at `p`. */
  private scalarToEnd(p: number): unknown {
    const { s, end } = this;
    const c = s.charCodeAt(p);
    let read: Read;
    if (c === 34) read = doubleQuoted(s, p, end);
    else if (c === 39) read = singleQuoted(s, p, end);
    else if (c === 91) read = flowSeq(s, p, end);
    else if (c === 123) {
      const q = this.rest(p + 1);
      if (s.charCodeAt(q) !== 125) throw new NotMine();
      read = { value: {}, end: q + 1 };
    } else {
      if (!plainStarts(s, p, end)) throw new NotMine();
      const comment = this.comment.after(p);
      const stop = comment === -1 || comment > end ? end : comment;
      const content = trimSpaces(s, p, stop);
      // `: ` inside, or a `:` ending it, makes a nested map: an error for the library.
      const colon = this.colon.after(p);
      if ((colon !== -1 && colon < content) || s.charCodeAt(content - 1) === 58) throw new NotMine();
      this.endOfLine(stop);
      return resolvePlain(s.slice(p, content));
    }
    this.endOfLine(read.end);
    return read.value;
  }
}

/** The first `needle` at or after a position, for positions that only grow (mostly): one scan of the text, not one per line. */
class Next {
  private from = Infinity;
  private at = -1;

  constructor(private readonly s: string, private readonly needle: string) {}

  after(p: number): number {
    if (p < this.from || (this.at !== -1 && this.at < p)) {
      this.at = this.s.indexOf(this.needle, p);
      this.from = p;
    }
    return this.at;
  }
}

/** `[a, "b", 3]` on one line (ending at `end`), of scalars only; a trailing comma, a pair or a nested collection is not mine. */
function flowSeq(t: string, p: number, end: number): Read<unknown[]> {
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
      const read = t[q] === '"' ? doubleQuoted(t, q, end) : singleQuoted(t, q, end);
      out.push(read.value);
      q = read.end;
    } else {
      // In a flow collection, `-` starts a plain scalar only before a character that is neither a space nor a flow indicator.
      if (!plainStarts(t, q, end) || (t[q] === '-' && ',[]{}'.includes(t[q + 1]))) throw new NotMine();
      let j = q;
      while (j < end && t[j] !== ',' && t[j] !== ']') {
        if ('[]{}#:\'"'.includes(t[j])) throw new NotMine();
        j++;
      }
      out.push(resolvePlain(t.slice(q, trimSpaces(t, q, j))));
      q = j;
    }
    skip();
    if (t[q] === ']') return { value: out, end: q + 1 };
    if (t[q] !== ',' || q >= end) throw new NotMine();
    q++;
  }
}

/** The end of t[from, to) without its trailing spaces (only spaces: YAML does not trim other white space). */
function trimSpaces(t: string, from: number, to: number): number {
  while (to > from && t.charCodeAt(to - 1) === 32) to--;
  return to;
}
