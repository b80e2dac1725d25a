import { PortierError } from '../errors';
import type { Arg, MatcherTable, RuleNode } from './ast';
import type { MatchRequest } from './types';
import { describeToken, syntaxError, tokenize, type Token, type TokenKind } from './lexer';

/**
 * Recursive descent over the token list:
 *   or    := and ('||' and)*
 *   and   := unary ('&&' unary)*
 *   unary := '!' unary | '(' or ')' | matcher
 *   matcher := IDENT '(' STRING (',' STRING)* ')'
 * Matchers are looked up and built while parsing, so an unknown name or a bad
 * argument is reported at its own position.
 */
export function parseRule<R = MatchRequest>(src: string, table: MatcherTable<R>, syntaxName: string): RuleNode<R> {
  const tokens = tokenize(src);
  let i = 0;
  const peek = (): Token => tokens[i];
  const next = (): Token => tokens[i++];
  const fail = (tok: Token, expected: string): PortierError =>
    syntaxError(`unexpected ${describeToken(tok)} at ${tok.pos}, expected ${expected}`);
  const expect = (kind: TokenKind, expected: string): Token => {
    const tok = next();
    if (tok.kind !== kind) throw fail(tok, expected);
    return tok;
  };

  const parseOr = (): RuleNode<R> => {
    let left = parseAnd();
    while (peek().kind === '||') {
      next();
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };

  const parseAnd = (): RuleNode<R> => {
    let left = parseUnary();
    while (peek().kind === '&&') {
      next();
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };

  const parseUnary = (): RuleNode<R> => {
    const tok = next();
    if (tok.kind === '!') return { kind: 'not', expr: parseUnary() };
    if (tok.kind === '(') {
      const inner = parseOr();
      expect(')', '")"');
      return inner;
    }
    if (tok.kind === 'ident') return parseMatcher(tok);
    throw fail(tok, 'a matcher');
  };

  const parseMatcher = (nameTok: Token): RuleNode<R> => {
    const spec = table.get(nameTok.value.toLowerCase());
    if (!spec) {
      const known = [...table.values()].map((s) => s.name).join(', ');
      throw new PortierError('RULE_MATCHER', `unknown matcher "${nameTok.value}" at ${nameTok.pos} (${syntaxName} matchers: ${known})`);
    }
    expect('(', `"(" after ${spec.name}`);
    const args: Arg[] = [];
    if (peek().kind !== ')') {
      for (;;) {
        const s = expect('string', 'a quoted argument');
        args.push({ value: s.value, pos: s.pos });
        if (peek().kind !== ',') break;
        next();
      }
    }
    const close = expect(')', args.length === 0 ? 'a quoted argument' : '"," or ")"');
    if (args.length < spec.minArgs || args.length > spec.maxArgs) {
      const want = spec.minArgs === spec.maxArgs ? `${spec.minArgs}`
        : spec.maxArgs === Infinity ? `at least ${spec.minArgs}` : `${spec.minArgs} or ${spec.maxArgs}`;
      throw new PortierError('RULE_MATCHER',
        `${spec.name} at ${nameTok.pos} takes ${want} argument${want === '1' ? '' : 's'} in ${syntaxName} syntax, got ${args.length}`);
    }
    return { kind: 'leaf', name: spec.name, args, pos: nameTok.pos, end: close.end, leaf: spec.build(args) };
  };

  if (peek().kind === 'end') throw syntaxError('empty rule, expected a matcher at 0');
  const root = parseOr();
  const tail = peek();
  if (tail.kind !== 'end') throw fail(tail, '"&&", "||" or end of rule');
  return root;
}
