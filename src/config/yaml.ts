import { parseDocument, LineCounter, isMap, isSeq, isScalar, Node } from 'yaml';
import { PortierError } from '../errors';

/**
 * Parses YAML (or JSON, a subset) keeping positions, so that a decoding
 * error on `http.routers.api.rule` can be reported as `file:12`.
 */
export interface ParsedYaml {
  value: unknown;
  /** 1-based line of the node at a dotted path (`a.b[2].c`), or of its nearest existing parent. */
  lineOf(path: string): number | undefined;
}

export function parseYaml(text: string, file: string): ParsedYaml {
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
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === seg.toLowerCase());
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

function splitPath(path: string): string[] {
  return path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '');
}

/** Rewrites a decoding error's path to `file:line: path: message`. */
export function locate(err: PortierError, file: string, parsed: ParsedYaml): PortierError {
  if (!err.path) return err;
  const line = parsed.lineOf(err.path);
  const where = line ? `${file}:${line}` : file;
  const message = err.message.slice(err.path.length + 2);
  return new PortierError(err.code, `${err.path}: ${message}`, { path: where });
}
