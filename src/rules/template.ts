import type { Arg } from './ast';
import { translateGoRegexp } from './go-regexp';
import { argError } from './leaves';

/**
 * Gorilla-mux templates, as Traefik v2 used them in HostRegexp, Path,
 * PathPrefix and Query values: literal text plus `{name}` or `{name:regexp}`
 * placeholders. Literal text is matched literally (even in HostRegexp);
 * `{name}` alone means one segment (`[^/]+`) in paths, one label (`[^.]+`) in
 * hosts and anything in query values.
 */

export type TemplateKind = 'host' | 'path' | 'query';

const DEFAULT_PATTERN: Record<TemplateKind, string> = { host: '[^.]+', path: '[^/]+', query: '.*' };

const escapeLiteral = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** A placeholder name that no regexp quantifier could be mistaken for. */
const PLACEHOLDER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export interface CompiledTemplate {
  /** null when the template has no placeholders: compare as a plain string. */
  regexp: RegExp | null;
  /** True when some placeholder has an identifier-like name (a sure sign of v2 intent). */
  hasNamedPlaceholder: boolean;
}

export function compileTemplate(
  matcher: string, arg: Arg, tpl: string, kind: TemplateKind, anchor: 'full' | 'prefix',
  literal: (text: string) => string = (text) => text,
): CompiledTemplate {
  const quote = (text: string): string => escapeLiteral(literal(text));
  let source = '';
  let level = 0;
  let start = 0;
  let literalFrom = 0;
  let placeholders = 0;
  let hasNamedPlaceholder = false;
  let unicode = false;
  for (let i = 0; i < tpl.length; i++) {
    if (tpl[i] === '{') {
      if (level++ === 0) start = i;
    } else if (tpl[i] === '}') {
      if (--level < 0) throw argError(matcher, arg, `unbalanced "}" in template at offset ${i}`);
      if (level > 0) continue;
      const body = tpl.slice(start + 1, i);
      const colon = body.indexOf(':');
      const name = colon < 0 ? body : body.slice(0, colon);
      const pattern = colon < 0 ? DEFAULT_PATTERN[kind] : body.slice(colon + 1);
      if (name === '' || pattern === '') throw argError(matcher, arg, `missing name or pattern in {${body}}`);
      let translated: string;
      try {
        const t = translateGoRegexp(pattern);
        if (t.flags !== '' && t.flags !== 'u') throw new Error('inline flags are not supported in placeholders');
        translated = t.source;
        unicode ||= t.flags === 'u';
      } catch (err) {
        throw argError(matcher, arg, `bad regexp in {${body}}: ${err instanceof Error ? err.message : String(err)}`);
      }
      source += quote(tpl.slice(literalFrom, start)) + `(?:${translated})`;
      literalFrom = i + 1;
      placeholders++;
      if (PLACEHOLDER_NAME.test(name)) hasNamedPlaceholder = true;
    }
  }
  if (level !== 0) throw argError(matcher, arg, 'unbalanced "{" in template');
  if (placeholders === 0) return { regexp: null, hasNamedPlaceholder };
  source = '^' + source + quote(tpl.slice(literalFrom)) + (anchor === 'full' ? '$' : '');
  try {
    return { regexp: new RegExp(source, (kind === 'host' ? 'i' : '') + (unicode ? 'u' : '')), hasNamedPlaceholder };
  } catch (err) {
    throw argError(matcher, arg, `bad regexp: ${err instanceof Error ? err.message : String(err)}`);
  }
}
