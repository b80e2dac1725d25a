import { matcherTable, type Arg, type Leaf, type MatcherSpec } from './ast';
import {
  anyOf, argError, clientIpLeaf, headerLeaf, headerRegexpLeaf, hostLeaf, methodLeaf, pathArg, queryLeaf, regexpArg,
  type QueryCondition,
} from './leaves';
import { routingPath } from './routing-path';
import { compileTemplate } from './template';
import type { MatchRequest } from './types';

/**
 * Traefik v2 matchers (`ruleSyntax: v2`): multi-argument forms where any
 * argument may match, HostHeader, Headers/HeadersRegexp, Query(`k=v`, …) where
 * every pair must match (gorilla-mux semantics), and gorilla templates in
 * HostRegexp, Path, PathPrefix and query values. HostRegexp is anchored: the
 * whole host must match the template. There is no PathRegexp or QueryRegexp.
 *
 * Each leaf records the v2-only construct it uses (`v2Feature`) so auto mode
 * can tell the user why a rule was read as v2.
 */

const multi = (name: string, args: Arg[]): string | undefined =>
  args.length > 1 ? `multi-argument ${name}` : undefined;

const placeholderFeature = (name: string): string => `{name:regexp} placeholder in ${name}`;

function withFeature(leaf: Leaf, feature: string | undefined): Leaf {
  return feature ? { ...leaf, v2Feature: feature } : leaf;
}

function pathTemplates(name: string, args: Arg[], anchor: 'full' | 'prefix'): Leaf {
  const tests: ((req: MatchRequest) => boolean)[] = [];
  let named = false;
  for (const arg of args) {
    const canonical = pathArg(name, arg);
    const t = compileTemplate(name, arg, arg.value, 'path', anchor, routingPath);
    named ||= t.hasNamedPlaceholder;
    const re = t.regexp;
    if (re) tests.push((req) => re.test(req.path));
    else if (anchor === 'full') tests.push((req) => req.path === canonical);
    else tests.push((req) => req.path.startsWith(canonical));
  }
  const leaf: Leaf = { test: anyOf(tests), observed: (req) => `path is ${JSON.stringify(req.path)}` };
  return withFeature(leaf, named ? placeholderFeature(name) : multi(name, args));
}

function hostTemplates(args: Arg[]): Leaf {
  const tests: ((req: MatchRequest) => boolean)[] = [];
  let named = false;
  for (const arg of args) {
    if (arg.value === '') throw argError('HostRegexp', arg, 'empty host');
    const t = compileTemplate('HostRegexp', arg, arg.value, 'host', 'full');
    named ||= t.hasNamedPlaceholder;
    const re = t.regexp;
    const plain = arg.value.toLowerCase().replace(/\.$/, '');
    tests.push(re ? (req) => re.test(req.host) : (req) => req.host === plain);
  }
  const leaf: Leaf = { test: anyOf(tests), observed: (req) => `host is ${JSON.stringify(req.host)}` };
  return withFeature(leaf, named ? placeholderFeature('HostRegexp') : multi('HostRegexp', args));
}

function queryPairs(args: Arg[]): Leaf {
  let pairForm = false;
  const conditions: QueryCondition[] = args.map((arg) => {
    const eq = arg.value.indexOf('=');
    const key = eq < 0 ? arg.value : arg.value.slice(0, eq);
    const valueTpl = eq < 0 ? '' : arg.value.slice(eq + 1);
    pairForm ||= eq >= 0;
    if (key === '') throw argError('Query', arg, 'empty key');
    if (key.includes('{')) throw argError('Query', arg, 'placeholders are only supported in the value');
    if (valueTpl === '') return { key };
    const re = compileTemplate('Query', arg, valueTpl, 'query', 'full').regexp;
    return { key, value: re ? (v) => re.test(v) : (v) => v === valueTpl };
  });
  return withFeature(queryLeaf(conditions), pairForm ? 'Query(`key=value`)' : multi('Query', args));
}

const specs: MatcherSpec[] = [
  { name: 'Host', minArgs: 1, maxArgs: Infinity, build: (a) => withFeature(hostLeaf('Host', a), multi('Host', a)) },
  { name: 'HostHeader', minArgs: 1, maxArgs: Infinity, build: (a) => withFeature(hostLeaf('HostHeader', a), 'HostHeader matcher') },
  { name: 'HostRegexp', minArgs: 1, maxArgs: Infinity, build: hostTemplates },
  { name: 'Path', minArgs: 1, maxArgs: Infinity, build: (a) => pathTemplates('Path', a, 'full') },
  { name: 'PathPrefix', minArgs: 1, maxArgs: Infinity, build: (a) => pathTemplates('PathPrefix', a, 'prefix') },
  { name: 'Method', minArgs: 1, maxArgs: Infinity, build: (a) => withFeature(methodLeaf('Method', a), multi('Method', a)) },
  { name: 'Headers', minArgs: 2, maxArgs: 2, build: (a) => withFeature(headerLeaf('Headers', a[0], a[1].value), 'Headers matcher') },
  {
    name: 'HeadersRegexp', minArgs: 2, maxArgs: 2,
    build: (a) => withFeature(headerRegexpLeaf('HeadersRegexp', a[0], regexpArg('HeadersRegexp', a[1])), 'HeadersRegexp matcher'),
  },
  { name: 'Query', minArgs: 1, maxArgs: Infinity, build: queryPairs },
  { name: 'ClientIP', minArgs: 1, maxArgs: Infinity, build: (a) => withFeature(clientIpLeaf('ClientIP', a), multi('ClientIP', a)) },
];

export const V2_MATCHERS = matcherTable(specs);
