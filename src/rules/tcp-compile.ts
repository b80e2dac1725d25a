import { PortierError } from '../errors';
import { leaves, type RuleNode } from './ast';
import { parseRule } from './parser';
import { TCP_MATCHERS, type TcpLeaf, type TcpMatch } from './tcp-matchers';
import type { RuleSyntax } from './types';

export interface CompiledTcpRule {
  readonly source: string;
  readonly syntax: RuleSyntax;
  /** Traefik's default: the rule's length in bytes, and -1 for exactly ``HostSNI(`*`)`` (so it is tried last). */
  readonly defaultPriority: number;
  /** Exactly ``HostSNI(`*`)``: Traefik's catch-all, which a specific HTTPS router outranks. */
  readonly catchAll: boolean;
  /** Every name of its HostSNI matchers (`*` for the catch-all): certificates are asked for these. */
  readonly sni: string[];
  match(conn: TcpMatch): boolean;
  explain(conn: TcpMatch): { matched: boolean; lines: string[] };
}

type Predicate = (m: TcpMatch) => boolean;

function predicate(node: RuleNode<TcpMatch>): Predicate {
  switch (node.kind) {
    case 'leaf': return node.leaf.test;
    case 'not': {
      const inner = predicate(node.expr);
      return (m) => !inner(m);
    }
    case 'and': {
      const [l, r] = [predicate(node.left), predicate(node.right)];
      return (m) => l(m) && r(m);
    }
    case 'or': {
      const [l, r] = [predicate(node.left), predicate(node.right)];
      return (m) => l(m) || r(m);
    }
  }
}

function build(source: string, syntax: RuleSyntax, root: RuleNode<TcpMatch>): CompiledTcpRule {
  const match = predicate(root);
  const all = leaves(root);
  const catchAll = root.kind === 'leaf' && root.name === 'HostSNI' && (root.leaf as TcpLeaf).sni?.[0] === '*';
  return {
    source, syntax, catchAll, match,
    defaultPriority: catchAll ? -1 : Buffer.byteLength(source, 'utf8'),
    sni: [...new Set(all.flatMap((l) => (l.leaf as TcpLeaf).sni ?? []))],
    explain(conn) {
      const lines = all.map((l) => {
        const text = source.slice(l.pos, l.end);
        return l.leaf.test(conn) ? `✓ ${text}` : `✗ ${text}: ${l.leaf.observed(conn)}`;
      });
      return { matched: match(conn), lines };
    },
  };
}

/**
 * A TCP router's rule: Traefik's TCP matchers (HostSNI, HostSNIRegexp,
 * ClientIP, ALPN) with `&&`, `||`, `!` and parentheses, parsed by the same
 * parser as HTTP rules. `auto` reads v3 first and falls back to v2's
 * several-arguments forms with a warning. Throws PortierError with the
 * position of the fault.
 */
export function compileTcpRule(source: string, syntax: RuleSyntax | 'auto' = 'auto'): { rule: CompiledTcpRule; warnings: string[] } {
  if (syntax !== 'auto') return { rule: build(source, syntax, parseRule(source, TCP_MATCHERS[syntax], syntax)), warnings: [] };
  try {
    return { rule: build(source, 'v3', parseRule(source, TCP_MATCHERS.v3, 'v3')), warnings: [] };
  } catch (err) {
    let v2: RuleNode<TcpMatch>;
    try {
      v2 = parseRule(source, TCP_MATCHERS.v2, 'v2');
    } catch {
      throw err;
    }
    if (!(err instanceof PortierError)) throw err;
    return { rule: build(source, 'v2', v2), warnings: ['rule uses Traefik v2 syntax (several arguments to one matcher); parsed as v2'] };
  }
}
