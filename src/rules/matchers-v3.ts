import { matcherTable, type Arg, type MatcherSpec } from './ast';
import {
  argError, clientIpLeaf, headerLeaf, headerRegexpLeaf, hostLeaf, hostRegexpLeaf, methodLeaf, pathArg,
  pathLeaf, pathPrefixLeaf, pathRegexpLeaf, queryLeaf, regexpArg,
} from './leaves';

/**
 * Traefik v3 matchers: each takes an exact number of arguments (v3 dropped the
 * multi-argument forms). Regexps are unanchored Go regexps.
 *
 * Query(`k`) deliberately matches when the parameter is present with any
 * value; Traefik v3 requires the value to be empty. Presence is what users
 * write `Query(`debug`)` for, and it still matches everything Traefik matches.
 */

const nonEmptyKey = (matcher: string, arg: Arg): string => {
  if (arg.value === '') throw argError(matcher, arg, 'empty key');
  return arg.value;
};

const specs: MatcherSpec[] = [
  { name: 'Host', minArgs: 1, maxArgs: 1, build: (a) => hostLeaf('Host', a) },
  { name: 'HostRegexp', minArgs: 1, maxArgs: 1, build: (a) => hostRegexpLeaf([regexpArg('HostRegexp', a[0], true)]) },
  { name: 'Path', minArgs: 1, maxArgs: 1, build: (a) => pathLeaf([pathArg('Path', a[0])]) },
  { name: 'PathPrefix', minArgs: 1, maxArgs: 1, build: (a) => pathPrefixLeaf([pathArg('PathPrefix', a[0])]) },
  { name: 'PathRegexp', minArgs: 1, maxArgs: 1, build: (a) => pathRegexpLeaf([regexpArg('PathRegexp', a[0])]) },
  { name: 'Method', minArgs: 1, maxArgs: 1, build: (a) => methodLeaf('Method', a) },
  { name: 'Header', minArgs: 2, maxArgs: 2, build: (a) => headerLeaf('Header', a[0], a[1].value) },
  { name: 'HeaderRegexp', minArgs: 2, maxArgs: 2, build: (a) => headerRegexpLeaf('HeaderRegexp', a[0], regexpArg('HeaderRegexp', a[1])) },
  {
    name: 'Query', minArgs: 1, maxArgs: 2,
    build: (a) => {
      const key = nonEmptyKey('Query', a[0]);
      const want = a[1]?.value;
      return queryLeaf([{ key, value: want === undefined ? undefined : (v) => v === want }]);
    },
  },
  {
    name: 'QueryRegexp', minArgs: 2, maxArgs: 2,
    build: (a) => {
      const re = regexpArg('QueryRegexp', a[1]);
      return queryLeaf([{ key: nonEmptyKey('QueryRegexp', a[0]), value: (v) => re.test(v) }]);
    },
  },
  { name: 'ClientIP', minArgs: 1, maxArgs: 1, build: (a) => clientIpLeaf('ClientIP', a) },
];

export const V3_MATCHERS = matcherTable(specs);
