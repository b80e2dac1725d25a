import { configError } from '../../src/errors';

/**
 * The small predicate language of Traefik's circuitBreaker and buffering
 * `retryExpression`: function calls with numeric arguments, comparisons,
 * `!`, `&&`, `||` and parentheses. Types are checked when compiling, so a
 * bad expression fails at configuration time with its position, and the
 * compiled form is a closure evaluated per request.
 */
export type Value = number | boolean;
type Kind = 'number' | 'boolean';

export interface FunctionSpec<E> {
  args: number;
  returns: Kind;
  call(env: E, args: number[]): Value;
}

interface Node<E> {
  kind: Kind;
  eval(env: E): Value;
}

type Token = { t: 'num'; v: number; at: number } | { t: 'id'; v: string; at: number } | { t: 'op'; v: string; at: number } | { t: 'end'; at: number };

const OPS = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '(', ')', ',', '!'];

function tokenize(src: string, path: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_]\w*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw configError(path, `unexpected ${JSON.stringify(c)} at ${i}`);
    out.push({ t: 'op', v: op, at: i });
    i += op.length;
  }
  out.push({ t: 'end', at: src.length });
  return out;
}

export function compileExpression<E>(src: string, fns: Record<string, FunctionSpec<E>>, path: string): (env: E) => boolean {
  const tokens = tokenize(src, path);
  let pos = 0;
  const peek = (): Token => tokens[pos];
  const fail = (tok: Token, msg: string): never => {
    throw configError(path, `${msg} at ${tok.at}`);
  };
  const describe = (tok: Token): string => (tok.t === 'end' ? 'end of expression' : `${JSON.stringify(String(tok.v))}`);
  const isOp = (v: string): boolean => {
    const tok = peek();
    return tok.t === 'op' && tok.v === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) fail(peek(), `expected "${v}", got ${describe(peek())}`);
    pos++;
  };
  const want = (node: Node<E>, kind: Kind, tok: Token): Node<E> => {
    if (node.kind !== kind) fail(tok, `expected a ${kind === 'boolean' ? 'condition' : 'number'}`);
    return node;
  };

  const atom = (): Node<E> => {
    const tok = peek();
    if (tok.t === 'num') {
      pos++;
      return { kind: 'number', eval: () => tok.v };
    }
    if (tok.t === 'op' && tok.v === '(') {
      pos++;
      const inner = or();
      expect(')');
      return inner;
    }
    if (tok.t !== 'id') return fail(tok, `unexpected ${describe(tok)}`);
    pos++;
    const spec = Object.prototype.hasOwnProperty.call(fns, tok.v) ? fns[tok.v] : undefined;
    if (!spec) return fail(tok, `unknown function ${tok.v} (known: ${Object.keys(fns).join(', ')})`);
    expect('(');
    const args: Node<E>[] = [];
    while (!isOp(')')) {
      if (args.length > 0) expect(',');
      const at = peek();
      args.push(want(or(), 'number', at));
    }
    expect(')');
    if (args.length !== spec.args) fail(tok, `${tok.v} takes ${spec.args} argument(s), got ${args.length}`);
    return { kind: spec.returns, eval: (env) => spec.call(env, args.map((a) => a.eval(env) as number)) };
  };

  const comparison = (): Node<E> => {
    const leftTok = peek();
    const left = atom();
    const opTok = peek();
    if (opTok.t !== 'op' || !['==', '!=', '<', '<=', '>', '>='].includes(opTok.v)) return left;
    pos++;
    want(left, 'number', leftTok);
    const rightTok = peek();
    const right = want(atom(), 'number', rightTok);
    const cmp = COMPARE[opTok.v];
    return { kind: 'boolean', eval: (env) => cmp(left.eval(env) as number, right.eval(env) as number) };
  };

  const unary = (): Node<E> => {
    if (!isOp('!')) return comparison();
    const tok = peek();
    pos++;
    const inner = want(unary(), 'boolean', tok);
    return { kind: 'boolean', eval: (env) => !inner.eval(env) };
  };

  const binary = (op: string, operand: () => Node<E>, combine: (a: () => boolean, b: () => boolean) => boolean) => (): Node<E> => {
    const firstTok = peek();
    let left = operand();
    while (isOp(op)) {
      want(left, 'boolean', firstTok);
      pos++;
      const tok = peek();
      const right = want(operand(), 'boolean', tok);
      const l = left;
      left = { kind: 'boolean', eval: (env) => combine(() => l.eval(env) as boolean, () => right.eval(env) as boolean) };
    }
    return left;
  };
  const and = binary('&&', unary, (a, b) => a() && b());
  const or: () => Node<E> = binary('||', and, (a, b) => a() || b());

  if (src.trim() === '') throw configError(path, 'is empty');
  const root = or();
  if (peek().t !== 'end') fail(peek(), `unexpected ${describe(peek())}`);
  want(root, 'boolean', tokens[0]);
  return (env) => root.eval(env) as boolean;
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};
