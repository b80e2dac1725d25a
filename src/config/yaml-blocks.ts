/**
 * Cuts a block-style YAML document into pieces that parse on their own, so
 * that a file of 10,000 routers re-read after one edit re-parses only the
 * piece holding that edit, and every unchanged piece keeps its values (the
 * same objects) for the stages after it to recognise by identity.
 *
 * The cut follows indentation only down to the third level (`http:` /
 * `routers:` / one router): the entries of that level are grouped into
 * pieces whose ends depend on the entries' own text (content-defined), so
 * an inserted router changes one piece rather than shifting every later
 * one. Anything the indentation cannot cut safely (JSON, flow collections
 * or sequences at a cut level, document markers, tabs, an outdented line)
 * stays in one piece with its parent; a document with none of this shape
 * is one piece, parsed whole as before.
 */

/** Entries of the third level per piece, on average: one piece is re-parsed per change. */
const PIECE_SPREAD = 32;
/** Levels cut by indentation: the top level, its sections, their entries. */
const DEPTH = 3;

/** A run of consecutive sibling entries, parsed as one YAML document. */
export interface Piece {
  text: string;
  /** 0-based index of its first line in the file. */
  line: number;
}

/** An entry whose own entries are cut further; its key, as written, is plain or quoted without escapes. */
export interface Branch {
  key: string;
  /** 0-based line of `key:`. */
  line: number;
  parts: Part[];
}

export type Part = Piece | Branch;

export const isBranch = (p: Part): p is Branch => (p as Branch).parts !== undefined;

/** A blank line's or a comment's indentation: a filler is never a cut, it belongs to the piece around it. */
const FILLER = -1;

const HEADER = /^ *([A-Za-z0-9_][\w.\-@/ ]*?|"[^"\\\n]*"|'[^'\n]*') *:(?: +#.*)? *$/;

/** The document's top level, cut; undefined when it has to be parsed whole. */
export function cut(text: string): Part[] | undefined {
  if (/^(?:\t|---|\.\.\.|%)/m.test(text)) return undefined;
  // Each line's start and indentation (FILLER for blank and comment lines), as two arrays: no object per line.
  const starts: number[] = [];
  const indents: number[] = [];
  for (let start = 0; start < text.length;) {
    const end = text.indexOf('\n', start);
    const stop = end === -1 ? text.length : end;
    starts.push(start);
    indents.push(indentOf(text, start, stop));
    start = stop + 1;
  }
  const count = starts.length;
  const lineText = (i: number): string => text.slice(starts[i], i + 1 < count ? starts[i + 1] : text.length);
  const firstContent = indents.findIndex((indent) => indent !== FILLER);
  if (firstContent === -1 || indents[firstContent] !== 0 || !/^[\w"']/.test(text[starts[firstContent]])) return undefined;

  const slice = (from: number, to: number): string => text.slice(starts[from], to < count ? starts[to] : text.length);
  /** Entries at `indent` within lines [from, to): each the index of its first line. */
  const entries = (from: number, to: number, indent: number): number[] | undefined => {
    const at: number[] = [];
    for (let i = from; i < to; i++) {
      const own = indents[i];
      if (own === FILLER) continue;
      if (own < indent) return undefined;
      if (own === indent) {
        const c = text[starts[i] + indent];
        if (c === '-' || c === '{' || c === '[') return undefined;
        at.push(i);
      }
    }
    return at;
  };
  const level = (from: number, to: number, indent: number, depth: number): Part[] | undefined => {
    const at = entries(from, to, indent);
    if (!at?.length) return undefined;
    const parts: Part[] = [];
    // Filler lines before the first entry ride with it.
    let pieceFrom = from;
    for (let k = 0; k < at.length; k++) {
      const begin = at[k];
      const end = k + 1 < at.length ? at[k + 1] : to;
      const branch = depth + 1 < DEPTH ? asBranch(begin, end, depth) : undefined;
      if (branch) {
        if (pieceFrom < begin) parts.push({ text: slice(pieceFrom, begin), line: pieceFrom });
        parts.push(branch);
        pieceFrom = end;
      } else if (depth + 1 < DEPTH || boundary(lineText(begin)) || k + 1 === at.length) {
        parts.push({ text: slice(pieceFrom, end), line: pieceFrom });
        pieceFrom = end;
      }
    }
    if (pieceFrom < to) parts.push({ text: slice(pieceFrom, to), line: pieceFrom });
    return parts;
  };
  const asBranch = (begin: number, end: number, depth: number): Branch | undefined => {
    const header = HEADER.exec(lineText(begin).replace(/\r?\n$/, ''));
    if (!header) return undefined;
    let c = begin + 1;
    while (c < end && indents[c] === FILLER) c++;
    if (c === end || indents[c] <= indents[begin]) return undefined;
    const parts = level(begin + 1, end, indents[c], depth + 1);
    if (!parts) return undefined;
    const raw = header[1];
    return { key: raw.startsWith('"') || raw.startsWith("'") ? raw.slice(1, -1) : raw, line: begin, parts };
  };
  return level(0, count, 0, 0);
}

/**
 * The indentation of the line text[start, stop), or FILLER: spaces then a
 * printable character, as most lines are, without copying it; any other
 * white space as trimStart sees it.
 */
function indentOf(text: string, start: number, stop: number): number {
  let p = start;
  while (text.charCodeAt(p) === 32) p++;
  const c = text.charCodeAt(p);
  if (p === stop || c === 35) return FILLER;
  if (c > 32 && c < 127) return p - start;
  const body = text.slice(start, stop).replace(/\r$/, '');
  const rest = body.trimStart();
  return rest === '' || rest.startsWith('#') ? FILLER : body.length - rest.length;
}

/** Whether a piece ends after this entry: a hash of its first line, so the cuts move with the text, not with positions. */
function boundary(header: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < header.length; i++) h = Math.imul(h ^ header.charCodeAt(i), 0x01000193);
  return (h >>> 0) % PIECE_SPREAD === 0;
}
