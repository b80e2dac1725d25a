import type { HostBinding, MatchRequest } from './types';

/** A compiled leaf matcher: everything expensive (regexps, CIDRs) is done once at build time. */
export interface Leaf {
  test(req: MatchRequest): boolean;
  /** What the request had instead, for `explain`: e.g. `path is "/v1"`. */
  observed(req: MatchRequest): string;
  /** Set when a match implies the request host is one of these. */
  hosts?: HostBinding;
  /** Set when the leaf uses a construct only Traefik v2 has, e.g. "multi-argument Host". */
  v2Feature?: string;
}

export interface Arg {
  value: string;
  /** 0-based position of the opening quote in the rule. */
  pos: number;
}

/** One matcher of a syntax: its canonical name, arity and builder. */
export interface MatcherSpec {
  name: string;
  minArgs: number;
  maxArgs: number;
  /** Throws PortierError RULE_MATCHER naming the arg position for bad values. */
  build(args: Arg[]): Leaf;
}

export type MatcherTable = ReadonlyMap<string, MatcherSpec>;

export function matcherTable(specs: MatcherSpec[]): MatcherTable {
  return new Map(specs.map((s) => [s.name.toLowerCase(), s]));
}

export type RuleNode =
  | { kind: 'and' | 'or'; left: RuleNode; right: RuleNode }
  | { kind: 'not'; expr: RuleNode }
  | { kind: 'leaf'; name: string; args: Arg[]; pos: number; end: number; leaf: Leaf };

export type LeafNode = Extract<RuleNode, { kind: 'leaf' }>;

export function leaves(node: RuleNode, out: LeafNode[] = []): LeafNode[] {
  switch (node.kind) {
    case 'leaf': out.push(node); break;
    case 'not': leaves(node.expr, out); break;
    default: leaves(node.left, out); leaves(node.right, out);
  }
  return out;
}
