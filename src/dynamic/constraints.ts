import { PortierError } from '../errors';

/**
 * Traefik's provider constraint expressions over container labels:
 * ``Label(`k`,`v`)``, ``LabelRegex(`k`,`re`)``, `&&`, `||`, `!`, parentheses.
 * Compiled once when the provider starts; a syntax error names its position.
 */
export type Constraint = (labels: Record<string, string>) => boolean;

type Token = { kind: 'name' | 'str' | 'op'; text: string; at: number };

export function parseConstraints(expr: string, path = 'constraints'): Constraint {
  const tokens = tokenize(expr, path);
  let i = 0;
  const fail = (msg: string, at = tokens[i]?.at ?? expr.length): never => {
    throw new PortierError('CONFIG_PARSE', `${msg} at ${at}`, { path });
  };
  const peek = (): Token | undefined => tokens[i];
  const expect = (text: string): void => {
    const t = tokens[i];
    if (!t || t.text !== text) fail(t ? `expected "${text}", got "${t.text}"` : `expected "${text}", got end of expression`);
    i++;
  };

  const parseOr = (): Constraint => {
    let left = parseAnd();
    while (peek()?.text === '||') {
      i++;
      const a = left;
      const b = parseAnd();
      left = (l) => a(l) || b(l);
    }
    return left;
  };
  const parseAnd = (): Constraint => {
    let left = parseUnary();
    while (peek()?.text === '&&') {
      i++;
      const a = left;
      const b = parseUnary();
      left = (l) => a(l) && b(l);
    }
    return left;
  };
  const parseUnary = (): Constraint => {
    const t = peek();
    if (!t) return fail('unexpected end of expression');
    if (t.text === '!') {
      i++;
      const inner = parseUnary();
      return (l) => !inner(l);
    }
    if (t.text === '(') {
      i++;
      const inner = parseOr();
      expect(')');
      return inner;
    }
    if (t.kind !== 'name') return fail(`unexpected "${t.text}"`);
    i++;
    expect('(');
    const args: string[] = [];
    while (peek()?.kind === 'str') {
      args.push(tokens[i++].text);
      if (peek()?.text !== ',') break;
      i++;
    }
    expect(')');
    const fn = t.text.toLowerCase();
    if (fn === 'label') {
      if (args.length !== 2) fail(`Label takes 2 arguments, got ${args.length}`, t.at);
      const [k, v] = args;
      return (l) => l[k] === v;
    }
    if (fn === 'labelregex') {
      if (args.length !== 2) fail(`LabelRegex takes 2 arguments, got ${args.length}`, t.at);
      let re: RegExp;
      try {
        re = new RegExp(args[1]);
      } catch {
        return fail(`invalid regular expression ${JSON.stringify(args[1])}`, t.at);
      }
      const k = args[0];
      return (l) => l[k] !== undefined && re.test(l[k]);
    }
    return fail(`unknown constraint "${t.text}" (expected Label or LabelRegex)`, t.at);
  };

  const result = parseOr();
  if (i < tokens.length) fail(`unexpected "${tokens[i].text}"`);
  return result;
}

function tokenize(expr: string, path: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '`' || c === '"') {
      const end = expr.indexOf(c, i + 1);
      if (end < 0) throw new PortierError('CONFIG_PARSE', `unterminated string at ${i}`, { path });
      out.push({ kind: 'str', text: expr.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (expr.startsWith('&&', i) || expr.startsWith('||', i)) {
      out.push({ kind: 'op', text: expr.slice(i, i + 2), at: i });
      i += 2;
    } else if ('!(),'.includes(c)) {
      out.push({ kind: 'op', text: c, at: i });
      i++;
    } else if (/[A-Za-z]/.test(c)) {
      const m = /^[A-Za-z]+/.exec(expr.slice(i))![0];
      out.push({ kind: 'name', text: m, at: i });
      i += m.length;
    } else {
      throw new PortierError('CONFIG_PARSE', `unexpected "${c}" at ${i}`, { path });
    }
  }
  return out;
}
