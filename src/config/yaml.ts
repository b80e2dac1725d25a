import { parseDocument, LineCounter, isMap, isSeq, isScalar, visit, Document, Node, Pair, YAMLMap } from 'yaml';
import { PortierError } from '../errors';
import { ParsedConfig, splitPath } from './located';
import { cut, isBranch, type Part, type Piece } from './yaml-blocks';
import { readSubset, type Entries } from './yaml-subset';

/**
 * What one read of a file leaves for the next: its pieces' values by their
 * text (yaml-blocks.ts). Only the pieces of the last read are kept.
 */
export class YamlReuse {
  pieces = new Map<string, ParsedPiece>();
}

/** A piece's map, as its entries: lines are 1-based within the piece. */
type ParsedPiece = Entries;

/** A map assembled from pieces, with what it came from: its keys are indexed for lineOf when first asked. */
interface Located {
  line: number;
  from: (Located & { key: string } | { piece: Piece; parsed: ParsedPiece })[];
  index?: { keys: Map<string, Located | InPiece>; folded: Map<string, Located | InPiece> };
}

interface InPiece {
  piece: Piece;
  /** The key's 1-based line in the file. */
  line: number;
  key: string;
}

/** Tried on a piece: any fault sends the whole document to the one-piece parse, which reports it as before. */
class Uncut extends Error {}

/**
 * Parses YAML (or JSON, a subset) keeping positions. With `reuse`, a
 * document that yaml-blocks.ts can cut is parsed piece by piece and an
 * unchanged piece's values are the previous read's objects.
 */
export function parseYaml(text: string, file: string, reuse?: YamlReuse): ParsedConfig {
  const parts = reuse ? cut(text) : undefined;
  if (reuse && parts) {
    const next = new Map<string, ParsedPiece>();
    try {
      const root: Located = { line: 1, from: [] };
      const value = assemble(parts, root, reuse.pieces, next, file);
      reuse.pieces = next;
      return { value, lineOf: (path) => lineIn(root, splitPath(path)) };
    } catch (err) {
      if (!(err instanceof Uncut)) throw err;
    }
  }
  return parseWhole(text, file);
}

function assemble(parts: Part[], at: Located, previous: Map<string, ParsedPiece>, next: Map<string, ParsedPiece>, file: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const repeated = (line: number): PortierError => new PortierError('CONFIG_PARSE', 'Map keys must be unique', { path: `${file}:${line}` });
  for (const part of parts) {
    if (isBranch(part)) {
      const located: Located & { key: string } = { line: part.line + 1, from: [], key: part.key };
      at.from.push(located);
      if (Object.hasOwn(out, part.key)) throw repeated(located.line);
      out[part.key] = assemble(part.parts, located, previous, next, file);
      continue;
    }
    const parsed = next.get(part.text) ?? previous.get(part.text) ?? parsePiece(part.text);
    next.set(part.text, parsed);
    at.from.push({ piece: part, parsed });
    for (let i = 0; i < parsed.keys.length; i++) {
      const key = parsed.keys[i];
      if (Object.hasOwn(out, key)) throw repeated(part.line + parsed.lines[i]);
      out[key] = parsed.values[i];
    }
  }
  return out;
}

/** Read by yaml-subset.ts when the piece is in its subset (most are), by the library otherwise. */
function parsePiece(text: string): ParsedPiece {
  const read = readSubset(text);
  if (read) return read;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length || repeatedKey(doc)) throw new Uncut();
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch {
    throw new Uncut();
  }
  if (value !== null && (typeof value !== 'object' || Array.isArray(value) || !isMap(doc.contents))) throw new Uncut();
  const keyLines = new Map<string, number>();
  if (isMap(doc.contents)) for (const p of doc.contents.items) if (isScalar(p.key) && p.key.range) keyLines.set(String(p.key.value), lineCounter.linePos(p.key.range[0]).line);
  const keys = Object.keys(value ?? {});
  return { keys, values: keys.map((k) => (value as Record<string, unknown>)[k]), lines: keys.map((k) => keyLines.get(k)!) };
}

/** Walks the assembled maps; below a piece's own keys, its text is parsed again (only errors ask, not requests). */
function lineIn(at: Located, segs: string[]): number {
  let node = at;
  for (let i = 0; i < segs.length; i++) {
    const index = (node.index ??= indexOf(node));
    const found = index.keys.get(segs[i]) ?? index.folded.get(segs[i].toLowerCase());
    if (!found) return node.line;
    if ('piece' in found) {
      const { piece, key } = found;
      if (i === segs.length - 1) return found.line;
      const lineCounter = new LineCounter();
      const doc = parseDocument(piece.text, { lineCounter, prettyErrors: false, uniqueKeys: false });
      return piece.line + walk(doc, lineCounter, [key, ...segs.slice(i + 1)])!;
    }
    node = found;
  }
  return node.line;
}

function indexOf(at: Located): NonNullable<Located['index']> {
  const index: NonNullable<Located['index']> = { keys: new Map(), folded: new Map() };
  const put = (key: string, where: Located | InPiece): void => {
    if (!index.keys.has(key)) index.keys.set(key, where);
    if (!index.folded.has(key.toLowerCase())) index.folded.set(key.toLowerCase(), where);
  };
  for (const f of at.from) {
    if (!('piece' in f)) put(f.key, f);
    else f.parsed.keys.forEach((key, i) => put(key, { piece: f.piece, line: f.piece.line + f.parsed.lines[i], key }));
  }
  return index;
}

/** A document parsed whole: JSON, TOML-like shapes, and what cannot be cut. */
function parseWhole(text: string, file: string): ParsedConfig {
  const lineCounter = new LineCounter();
  // The library's own uniqueKeys check compares every key with every other: minutes for a map of 10,000 routers.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? lineCounter.linePos(first.pos[0]).line;
    throw new PortierError('CONFIG_PARSE', first.message.split('\n')[0], { path: `${file}:${line}` });
  }
  const repeated = repeatedKey(doc);
  if (repeated) throw new PortierError('CONFIG_PARSE', 'Map keys must be unique', { path: `${file}:${lineCounter.linePos(repeated.range![0]).line}` });
  const keyed = keyIndex();
  return { value: toValue(doc, lineCounter, file) ?? {}, lineOf: (path) => walk(doc, lineCounter, splitPath(path), keyed) };
}

/** The document's values; an alias to no anchor, or too many aliases (a "billion laughs" file), is an error at its line. */
function toValue(doc: Document, lineCounter: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    let at: Node | undefined;
    visit(doc, {
      Alias(_key, alias) {
        if (alias.resolve(doc)) return undefined;
        at = alias;
        return visit.BREAK;
      },
    });
    const line = at?.range ? `:${lineCounter.linePos(at.range[0]).line}` : '';
    throw new PortierError('CONFIG_PARSE', (err as Error).message, { path: `${file}${line}` });
  }
}

type KeyIndex = (map: YAMLMap) => { exact: Map<string, Pair>; folded: Map<string, Pair> };

/** Each map's keys indexed once, on first use: a file of 10,000 routers is asked for every one of them. */
function keyIndex(): KeyIndex {
  const keysOf = new WeakMap<YAMLMap, { exact: Map<string, Pair>; folded: Map<string, Pair> }>();
  return (map) => {
    let k = keysOf.get(map);
    if (!k) {
      k = { exact: new Map(), folded: new Map() };
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        const key = String(p.key.value);
        if (!k.exact.has(key)) k.exact.set(key, p);
        if (!k.folded.has(key.toLowerCase())) k.folded.set(key.toLowerCase(), p);
      }
      keysOf.set(map, k);
    }
    return k;
  };
}

/** 1-based line of the key at `segs`, or of its nearest existing parent. */
function walk(doc: Document, lineCounter: LineCounter, segs: string[], keyed: KeyIndex = keyIndex()): number | undefined {
  let node: unknown = doc.contents;
  let line = node && (node as Node).range ? lineCounter.linePos((node as Node).range![0]).line : undefined;
  for (const seg of segs) {
    if (isMap(node)) {
      // The exact spelling first: a key given twice in two spellings is reported at the one named.
      const pair = keyed(node).exact.get(seg) ?? keyed(node).folded.get(seg.toLowerCase());
      if (!pair) break;
      const keyNode = pair.key as Node;
      if (keyNode.range) line = lineCounter.linePos(keyNode.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(seg)) {
      node = node.items[Number(seg)];
      const n = node as Node | undefined;
      if (n?.range) line = lineCounter.linePos(n.range[0]).line;
    } else break;
  }
  return line;
}

/** The first key given twice in one map (equal scalar values, as the library's uniqueKeys), in one pass per map. */
function repeatedKey(doc: Document): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        if (seen.has(p.key.value)) {
          found = p.key;
          return visit.BREAK;
        }
        seen.add(p.key.value);
      }
      return undefined;
    },
  });
  return found;
}
