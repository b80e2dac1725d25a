import type { HostBinding, MatchRequest } from './types';

/**
 * A compiled leaf matcher: everything expensive (regexps, CIDRs) is done once at build time.
 * `R` is what it reads: an HTTP request, or a TCP connection's first bytes (rules/tcp-matchers.ts).
 */
export interface Leaf<R = MatchRequest> {
  test(req: R): boolean;
  /** What the request had instead, for `explain`: e.g. `path is "/v1"`. */
  observed(req: R): string;
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
export interface MatcherSpec<R = MatchRequest> {
  name: string;
  minArgs: number;
  maxArgs: number;
  /** Throws PortierError RULE_MATCHER naming the arg position for bad values. */
  build(args: Arg[]): Leaf<R>;
}

export type MatcherTable<R = MatchRequest> = ReadonlyMap<string, MatcherSpec<R>>;

export function matcherTable<R = MatchRequest>(specs: MatcherSpec<R>[]): MatcherTable<R> {
  return new Map(specs.map((s) => [s.name.toLowerCase(), s]));
}

export type RuleNode<R = MatchRequest> =
  | { kind: 'and' | 'or'; left: RuleNode<R>; right: RuleNode<R> }
  | { kind: 'not'; expr: RuleNode<R> }
  | { kind: 'leaf'; name: string; args: Arg[]; pos: number; end: number; leaf: Leaf<R> };

export type LeafNode<R = MatchRequest> = Extract<RuleNode<R>, { kind: 'leaf' }>;

export function leaves<R = MatchRequest>(node: RuleNode<R>, out: LeafNode<R>[] = []): LeafNode<R>[] {
  switch (node.kind) {
    case 'leaf': out.push(node); break;
    case 'not': leaves(node.expr, out); break;
    default: leaves(node.left, out); leaves(node.right, out);
  }
  return out;
}
