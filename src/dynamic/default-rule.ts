/**
 * The default rule of a container without a `rule` label. Templates may use
 * Portier's placeholders (`{service}`, `{project}`, `{name}`) and the
 * Go-template forms users copy from Traefik setups (`{{ normalize .Name }}`,
 * `{{ .ContainerName }}`, `{{ index .Labels "k" }}`, pipes into `normalize`,
 * `lower`, `upper`). Anything else is reported, not guessed at.
 */
export interface RuleModel {
  /** Traefik's `.Name`: the normalized service name (`web-shop` for compose service web of project shop). */
  name: string;
  /** Traefik's `.ContainerName`: the container name without a leading `/`. */
  containerName: string;
  labels: Record<string, string>;
  /** Compose service, or the container name for a plain container. */
  service: string;
  /** Compose project, or '' for a plain container. */
  project: string;
}

export const COMPOSE_DEFAULT_RULE = 'Host(`{service}.{project}.localhost`)';
export const PLAIN_DEFAULT_RULE = 'Host(`{name}.localhost`)';

/** Traefik's `normalize`: runs of non-alphanumerics become one `-` (`my_app` → `my-app`). */
export function normalizeName(s: string): string {
  return s.split(/[^A-Za-z0-9]+/).filter((p) => p !== '').join('-');
}

export class TemplateError extends Error {}

type Value = string | Record<string, string>;

/** Renders a default-rule template; throws TemplateError naming the construct it does not support. */
export function renderDefaultRule(template: string, model: RuleModel): string {
  let out = '';
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf('{{', at);
    if (open < 0) {
      out += placeholders(template.slice(at), model);
      break;
    }
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`unterminated template action at ${open}`);
    out += placeholders(template.slice(at, open), model);
    const action = template.slice(open + 2, close).replace(/^-\s/, '').replace(/\s-$/, '');
    const v = evalPipeline(action.trim(), model);
    if (typeof v !== 'string') throw new TemplateError(`template action {{${action}}} gives a map, not a string`);
    out += v;
    at = close + 2;
  }
  return out;
}

function placeholders(text: string, m: RuleModel): string {
  const plain = { service: normalizeName(m.service), project: normalizeName(m.project), name: normalizeName(m.containerName) };
  return text.replace(/\{(service|project|name)\}/g, (_, k: keyof typeof plain) => plain[k]);
}

type Tok = { kind: 'field' | 'ident' | 'str' | 'pipe' | 'open' | 'close' | 'other'; text: string };

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  const re = /\s*(?:(\.[A-Za-z_][\w.]*|\.)|([A-Za-z_]\w*)|"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\|)|(\()|(\)))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) {
      // Numbers, variables, keywords: reported by the parser with their context.
      const other = /\s*(\S+)/y;
      other.lastIndex = i;
      const o = other.exec(src)!;
      toks.push({ kind: 'other', text: o[1] });
      i = other.lastIndex;
      continue;
    }
    if (m[1] !== undefined) toks.push({ kind: 'field', text: m[1] });
    else if (m[2] !== undefined) toks.push({ kind: 'ident', text: m[2] });
    else if (m[3] !== undefined) toks.push({ kind: 'str', text: JSON.parse(`"${m[3]}"`) as string });
    else if (m[4] !== undefined) toks.push({ kind: 'str', text: m[4] });
    else if (m[5] !== undefined) toks.push({ kind: 'pipe', text: '|' });
    else if (m[6] !== undefined) toks.push({ kind: 'open', text: '(' });
    else toks.push({ kind: 'close', text: ')' });
    i = re.lastIndex;
  }
  return toks;
}

const FUNCS: Record<string, (args: Value[]) => Value> = {
  normalize: (a) => normalizeName(str(a, 'normalize', 1)[0]),
  lower: (a) => str(a, 'lower', 1)[0].toLowerCase(),
  upper: (a) => str(a, 'upper', 1)[0].toUpperCase(),
  index: (a) => {
    if (a.length !== 2 || typeof a[0] === 'string' || typeof a[1] !== 'string') {
      throw new TemplateError('index takes a map and a key: {{ index .Labels "key" }}');
    }
    return a[0][a[1]] ?? '';
  },
};

function str(args: Value[], fn: string, n: number): string[] {
  if (args.length !== n || args.some((a) => typeof a !== 'string')) throw new TemplateError(`${fn} takes ${n} string argument`);
  return args as string[];
}

function evalPipeline(src: string, model: RuleModel): Value {
  const toks = lex(src);
  let i = 0;
  const field = (path: string): Value => {
    const parts = path.split('.').slice(1);
    const [head, ...rest] = parts;
    let v: Value;
    if (head === 'Name') v = model.name;
    else if (head === 'ContainerName') v = model.containerName;
    else if (head === 'Labels') v = model.labels;
    else throw new TemplateError(`unsupported template field "${path}" (known: .Name, .ContainerName, .Labels)`);
    if (rest.length === 0) return v;
    if (typeof v === 'string' || rest.length > 1) throw new TemplateError(`unsupported template field "${path}"`);
    return v[rest[0]] ?? '';
  };
  const operand = (): Value | undefined => {
    const t = toks[i];
    if (!t) return undefined;
    if (t.kind === 'field' || t.kind === 'str') {
      i++;
      return t.kind === 'field' ? field(t.text) : t.text;
    }
    if (t.kind === 'open') {
      i++;
      const v = pipeline();
      if (toks[i]?.kind !== 'close') throw new TemplateError(`unbalanced parenthesis in {{ ${src} }}`);
      i++;
      return v;
    }
    return undefined;
  };
  const command = (piped?: Value): Value => {
    const t = toks[i];
    if (t?.kind === 'ident') {
      const fn = FUNCS[t.text];
      if (!fn) throw new TemplateError(`unsupported template function "${t.text}" (known: ${Object.keys(FUNCS).join(', ')})`);
      i++;
      const args: Value[] = [];
      for (let a = operand(); a !== undefined; a = operand()) args.push(a);
      if (piped !== undefined) args.push(piped);
      return fn(args);
    }
    if (piped !== undefined) throw new TemplateError(`unsupported template construct after "|" in {{ ${src} }}`);
    const v = operand();
    if (v === undefined) throw new TemplateError(`unsupported template construct "{{ ${src} }}"`);
    return v;
  };
  const pipeline = (): Value => {
    let v = command();
    while (toks[i]?.kind === 'pipe') {
      i++;
      v = command(v);
    }
    return v;
  };
  const v = pipeline();
  if (i < toks.length) throw new TemplateError(`unsupported template construct "${toks[i].text}" in {{ ${src} }}`);
  return v;
}
