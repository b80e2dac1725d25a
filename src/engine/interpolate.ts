/**
 * Compose's variable substitution: `${VAR}`, `$VAR`, `${VAR:-default}`
 * (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` /
 * `${VAR?message}` (required) and `$$` for a literal dollar. Values come from
 * the process environment first, then from the `.env` file beside the stack
 * file, as docker compose does.
 */
export type Env = Record<string, string | undefined>;

const PATTERN = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*)|(\{[^}]*\}?))/g;

/** Replaces variables in `text`; throws an Error whose message says what is wrong. */
export function interpolate(text: string, env: Env): string {
  return text.replace(PATTERN, (_m, dollar, braced, op, arg, bare, bad) => {
    if (dollar) return '$';
    if (bad !== undefined) throw new Error(`invalid interpolation format ${JSON.stringify('$' + bad)}`);
    const name: string = braced ?? bare;
    const value = env[name];
    if (!op) return value ?? '';
    const unset = op.startsWith(':') ? value === undefined || value === '' : value === undefined;
    if (op.endsWith('-')) return unset ? interpolate(arg, env) : (value as string);
    if (unset) throw new Error(`required variable ${name} is missing a value${arg ? `: ${arg}` : ''}`);
    return value as string;
  });
}

/**
 * Parses a `.env` file: `KEY=value` lines, `#` comments, an optional
 * `export ` prefix, single quotes taken literally, double quotes with `\n`
 * escapes. A malformed line is reported by its number.
 */
export function parseDotEnv(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected KEY=value, got ${JSON.stringify(line)}`);
    let value = m[2];
    if (/^'.*'$/.test(value)) value = value.slice(1, -1);
    else if (/^".*"$/.test(value)) value = value.slice(1, -1).replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    else value = value.replace(/\s+#.*$/, '');
    out[m[1]] = value;
  });
  return out;
}
