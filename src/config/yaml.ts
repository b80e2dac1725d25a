import { parseDocument, LineCounter, isMap, isSeq, isScalar, visit, Document, Node, Pair, YAMLMap } from 'yaml';
import { PortierError } from '../errors';
import { ParsedConfig, splitPath } from './located';

/** Parses YAML (or JSON, a subset) keeping positions. */
export function parseYaml(text: string, file: string): ParsedConfig {
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
  const keysOf = new WeakMap<YAMLMap, { exact: Map<string, Pair>; folded: Map<string, Pair> }>();
  const keyed = (map: YAMLMap): { exact: Map<string, Pair>; folded: Map<string, Pair> } => {
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
  const lineOf = (path: string): number | undefined => {
    let node: unknown = doc.contents;
    let line = node && (node as Node).range ? lineCounter.linePos((node as Node).range![0]).line : undefined;
    for (const seg of splitPath(path)) {
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
  };
  return { value: doc.toJS({ maxAliasCount: 100 }) ?? {}, lineOf };
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
