import { leaves, type LeafNode, type RuleNode } from './ast';
import { exactHosts, hostBinding } from './host-binding';
import { V2_MATCHERS } from './matchers-v2';
import { V3_MATCHERS } from './matchers-v3';
import { parseRule } from './parser';
import type { CompiledRule, HostBinding, MatchRequest, RuleCompileResult, RuleSyntax } from './types';

/**
 * Rule text to a CompiledRule: parse once, build a tree of closures, derive
 * the host binding and the default priority.
 *
 * Syntax `auto` (the default) reads the rule as v3; if that fails but v2
 * accepts it, or if v2 would read it differently (gorilla placeholders such as
 * Path(`/{id:[0-9]+}`), Query(`k=v`)), it is compiled as v2 with a warning.
 * An explicit syntax never falls back. Errors are PortierError RULE_SYNTAX or
 * RULE_MATCHER whose message carries the 0-based position; the caller adds
 * the config path.
 */

export interface CompileOptions {
  syntax?: RuleSyntax | 'auto';
}

type Predicate = (req: MatchRequest) => boolean;

const TABLES = { v2: V2_MATCHERS, v3: V3_MATCHERS } as const;

/** Shared by every rule compiled without warnings: a table keeps each rule's result. */
const NO_WARNINGS = Object.freeze([]) as unknown as string[];

function predicate(node: RuleNode): Predicate {
  switch (node.kind) {
    case 'leaf': return node.leaf.test;
    case 'not': {
      const inner = predicate(node.expr);
      return (req) => !inner(req);
    }
    case 'and': {
      const l = predicate(node.left);
      const r = predicate(node.right);
      return (req) => l(req) && r(req);
    }
    case 'or': {
      const l = predicate(node.left);
      const r = predicate(node.right);
      return (req) => l(req) || r(req);
    }
  }
}

interface ExplainedLeaf {
  text: string;
  negated: boolean;
  leaf: LeafNode['leaf'];
}

function explainLeaves(source: string, node: RuleNode, negated: boolean, out: ExplainedLeaf[]): ExplainedLeaf[] {
  switch (node.kind) {
    case 'leaf': out.push({ text: source.slice(node.pos, node.end), negated, leaf: node.leaf }); break;
    case 'not': explainLeaves(source, node.expr, !negated, out); break;
    default:
      explainLeaves(source, node.left, negated, out);
      explainLeaves(source, node.right, negated, out);
  }
  return out;
}

/**
 * A rule as a table holds it, 10,000 at a time: `explain`, asked rarely,
 * parses the source again (the same source and syntax give the same leaves)
 * rather than every rule keeping its tree.
 */
class Rule implements CompiledRule {
  readonly defaultPriority: number;
  readonly hosts: readonly string[] | null;
  readonly hostBinding: HostBinding | null;
  readonly match: Predicate;

  constructor(readonly source: string, readonly syntax: RuleSyntax, root: RuleNode) {
    this.match = predicate(root);
    this.hostBinding = hostBinding(root);
    this.hosts = exactHosts(this.hostBinding);
    // Traefik uses len(rule), a byte count.
    this.defaultPriority = Buffer.byteLength(source, 'utf8');
  }

  explain(req: MatchRequest): { matched: boolean; lines: string[] } {
    const explained = explainLeaves(this.source, parseRule(this.source, TABLES[this.syntax], this.syntax), false, []);
    const lines = explained.map(({ text, negated, leaf }) => {
      const ok = leaf.test(req);
      const note = negated ? ' (negated by !)' : '';
      return ok ? `✓ ${text}${note}` : `✗ ${text}${note}: ${leaf.observed(req)}`;
    });
    return { matched: this.match(req), lines };
  }
}

function tryParse(source: string, syntax: RuleSyntax): RuleNode | null {
  try {
    return parseRule(source, TABLES[syntax], syntax);
  } catch {
    return null;
  }
}

function firstV2Feature(node: RuleNode): string | undefined {
  switch (node.kind) {
    case 'leaf': return node.leaf.v2Feature;
    case 'not': return firstV2Feature(node.expr);
    default: return firstV2Feature(node.left) ?? firstV2Feature(node.right);
  }
}

const PLACEHOLDER = /\{[A-Za-z_][A-Za-z0-9_-]*[:}]/;

/** v2 constructs that v3 accepts with another meaning instead of rejecting them. */
function readsDifferentlyAsV2(root: RuleNode): boolean {
  return leaves(root).some((l) => {
    if (l.name === 'Query') return l.args.length === 1 && l.args[0].value.includes('=');
    if (l.name === 'Path' || l.name === 'PathPrefix' || l.name === 'HostRegexp') {
      return PLACEHOLDER.test(l.args[0].value);
    }
    return false;
  });
}

const v2Warning = (feature: string | undefined): string => feature
  ? `rule uses Traefik v2 syntax (${feature}); parsed as v2`
  : 'rule is not valid v3 syntax but valid Traefik v2 syntax; parsed as v2';

export function compileRule(rule: string, opts: CompileOptions = {}): RuleCompileResult {
  const syntax = opts.syntax ?? 'auto';
  if (syntax !== 'auto') return { rule: new Rule(rule, syntax, parseRule(rule, TABLES[syntax], syntax)), warnings: NO_WARNINGS };

  let v3: RuleNode;
  try {
    v3 = parseRule(rule, V3_MATCHERS, 'v3');
  } catch (err) {
    const v2 = tryParse(rule, 'v2');
    if (!v2) throw err;
    return { rule: new Rule(rule, 'v2', v2), warnings: [v2Warning(firstV2Feature(v2))] };
  }
  if (readsDifferentlyAsV2(v3)) {
    const v2 = tryParse(rule, 'v2');
    const feature = v2 && firstV2Feature(v2);
    if (v2 && feature) return { rule: new Rule(rule, 'v2', v2), warnings: [v2Warning(feature)] };
  }
  return { rule: new Rule(rule, 'v3', v3), warnings: NO_WARNINGS };
}
