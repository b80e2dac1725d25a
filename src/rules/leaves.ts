import { PortierError } from '../errors';
import type { Arg, Leaf } from './ast';
import { compileGoRegexp } from './go-regexp';
import { compileIpRange } from './ip-range';
import { anyHeaderValue, describeHeader, describeQueryParam, queryParams } from './request-view';
import { routingPath } from './routing-path';
import type { MatchRequest } from './types';

/**
 * Leaf builders shared by the v3 and v2 matcher tables. Every builder takes
 * the (already arity-checked) arguments, validates them once and returns
 * closures that do plain string work per request.
 */

export function argError(matcher: string, arg: Arg, message: string): PortierError {
  return new PortierError('RULE_MATCHER', `invalid ${matcher} argument ${JSON.stringify(arg.value)} at ${arg.pos}: ${message}`);
}

export function regexpArg(matcher: string, arg: Arg, ignoreCase = false): RegExp {
  try {
    return compileGoRegexp(arg.value, { ignoreCase });
  } catch (err) {
    throw argError(matcher, arg, `bad regexp: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const q = JSON.stringify;
const observeHost = (req: MatchRequest): string => `host is ${q(req.host)}`;
const hostOf = (req: MatchRequest): string => req.host;
const NO_WILDCARDS: readonly string[] = Object.freeze([]);
const observePath = (req: MatchRequest): string => `path is ${q(req.path)}`;

/** Any of `tests` passing; a single test is returned as is to keep the hot path flat. */
export function anyOf(tests: ((req: MatchRequest) => boolean)[]): (req: MatchRequest) => boolean {
  if (tests.length === 1) return tests[0];
  return (req) => {
    for (const t of tests) if (t(req)) return true;
    return false;
  };
}

function oneOfStrings(values: string[], pick: (req: MatchRequest) => string): (req: MatchRequest) => boolean {
  if (values.length === 1) {
    const v = values[0];
    return (req) => pick(req) === v;
  }
  const set = new Set(values);
  return (req) => set.has(pick(req));
}

export function hostLeaf(matcher: string, args: Arg[]): Leaf {
  const exact: string[] = [];
  const wildcard: string[] = [];
  for (const arg of args) {
    let h = arg.value.toLowerCase();
    if (h === '') throw argError(matcher, arg, 'empty host');
    if (!/^[\x21-\x7e]+$/.test(h)) throw argError(matcher, arg, 'only printable ASCII is allowed (write IDNs in punycode)');
    if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
    if (h.endsWith('.')) h = h.slice(0, -1);
    if (h.startsWith('*.') && h.length > 2 && !h.includes('*', 1)) wildcard.push(h);
    else if (h.includes('*')) throw argError(matcher, arg, 'a wildcard must be the whole first label, as in *.example.com');
    else exact.push(h);
  }
  const tests: ((req: MatchRequest) => boolean)[] = [];
  if (exact.length > 0) tests.push(oneOfStrings(exact, hostOf));
  for (const w of wildcard) {
    const suffix = w.slice(1);
    tests.push((req) => {
      const h = req.host;
      const cut = h.length - suffix.length;
      return cut > 0 && h.endsWith(suffix) && h.lastIndexOf('.', cut - 1) < 0;
    });
  }
  // Copies made to their size: a pushed-to array keeps room for 17, and every Host rule of a table keeps these.
  return { test: anyOf(tests), observed: observeHost, hosts: { exact: exact.slice(), wildcard: wildcard.length ? wildcard.slice() : NO_WILDCARDS } };
}

export function hostRegexpLeaf(regexps: RegExp[]): Leaf {
  return { test: anyOf(regexps.map((re) => (req: MatchRequest) => re.test(req.host))), observed: observeHost };
}

/** Path and PathPrefix arguments in canonical routing form (see routing-path.ts). */
export function pathArg(matcher: string, arg: Arg): string {
  if (!arg.value.startsWith('/')) throw argError(matcher, arg, 'a path must start with "/"');
  return routingPath(arg.value);
}

export function pathLeaf(paths: string[]): Leaf {
  return { test: oneOfStrings(paths, (req) => req.path), observed: observePath };
}

export function pathPrefixLeaf(prefixes: string[]): Leaf {
  return { test: anyOf(prefixes.map((p) => (req: MatchRequest) => req.path.startsWith(p))), observed: observePath };
}

export function pathRegexpLeaf(regexps: RegExp[]): Leaf {
  return { test: anyOf(regexps.map((re) => (req: MatchRequest) => re.test(req.path))), observed: observePath };
}

export function methodLeaf(matcher: string, args: Arg[]): Leaf {
  const methods = args.map((a) => {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(a.value)) throw argError(matcher, a, 'not an HTTP method token');
    return a.value.toUpperCase();
  });
  return { test: oneOfStrings(methods, (req) => req.method), observed: (req) => `method is ${q(req.method)}` };
}

function headerName(matcher: string, arg: Arg): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(arg.value)) throw argError(matcher, arg, 'not a valid header name');
  return arg.value.toLowerCase();
}

export function headerLeaf(matcher: string, nameArg: Arg, value: string): Leaf {
  const name = headerName(matcher, nameArg);
  const eq = (v: string): boolean => v === value;
  return { test: (req) => anyHeaderValue(req, name, eq), observed: (req) => describeHeader(req, name, nameArg.value) };
}

export function headerRegexpLeaf(matcher: string, nameArg: Arg, re: RegExp): Leaf {
  const name = headerName(matcher, nameArg);
  const test = (v: string): boolean => re.test(v);
  return { test: (req) => anyHeaderValue(req, name, test), observed: (req) => describeHeader(req, name, nameArg.value) };
}

/** One query condition: the key must be present and, when `value` is given, one of its values must pass. */
export interface QueryCondition {
  key: string;
  value?: (v: string) => boolean;
}

export function queryLeaf(conditions: QueryCondition[]): Leaf {
  const check = (req: MatchRequest, c: QueryCondition): boolean => {
    const values = queryParams(req).get(c.key);
    if (!values) return false;
    if (!c.value) return true;
    for (const v of values) if (c.value(v)) return true;
    return false;
  };
  return {
    test: (req) => {
      for (const c of conditions) if (!check(req, c)) return false;
      return true;
    },
    observed: (req) => {
      const failing = conditions.find((c) => !check(req, c)) ?? conditions[0];
      return describeQueryParam(req, failing.key);
    },
  };
}

export function clientIpLeaf(matcher: string, args: Arg[]): Leaf {
  const ranges = args.map((a) => {
    const r = compileIpRange(a.value.trim());
    if (!r) throw argError(matcher, a, 'not an IP address or CIDR range');
    return r;
  });
  return {
    test: anyOf(ranges.map((r) => (req: MatchRequest) => r(req.clientIp))),
    observed: (req) => `client IP is ${q(req.clientIp)}`,
  };
}
