import { parseDocument, LineCounter, isMap, isSeq, isScalar, Node } from 'yaml';
import { PortierError } from '../errors';
import { ParsedConfig, splitPath } from './located';

/** Parses YAML (or JSON, a subset) keeping positions. */
export function parseYaml(text: string, file: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? lineCounter.linePos(first.pos[0]).line;
    throw new PortierError('CONFIG_PARSE', first.message.split('\n')[0], { path: `${file}:${line}` });
  }
  const lineOf = (path: string): number | undefined => {
    let node: unknown = doc.contents;
    let line = node && (node as Node).range ? lineCounter.linePos((node as Node).range![0]).line : undefined;
    for (const seg of splitPath(path)) {
      if (isMap(node)) {
        // The exact spelling first: a key given twice in two spellings is reported at the one named.
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg)
          ?? node.items.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === seg.toLowerCase());
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
