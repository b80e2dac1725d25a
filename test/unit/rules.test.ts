import t from 'tap';
import { PortierError } from '../../src/errors';
import { compileRule } from '../../src/rules/compile';
import { routingPath } from '../../src/rules/routing-path';
import type { MatchRequest } from '../../src/rules/types';

type Req = Partial<Omit<MatchRequest, 'path'>> & { path?: string; rawPath?: string };

interface Case {
  rule: string;
  syntax?: 'v2' | 'v3' | 'auto';
  /** Request fields over a GET of http://example.com/ from 127.0.0.1; rawPath goes through routingPath. */
  req?: Req;
  match?: boolean;
  /** Code and a substring of the message (position included). */
  error?: [code: 'RULE_SYNTAX' | 'RULE_MATCHER', message: string];
  /** Syntax the rule was compiled with. */
  as?: 'v2' | 'v3';
  /** Substring of the single expected warning; absent means no warning. */
  warning?: string;
  hosts?: string[] | null;
  wildcard?: string[];
  priority?: number;
  explain?: string[];
}

const cases: Case[] = [
  // Host
  { rule: 'Host(`example.org`)', req: { host: 'example.org' }, match: true, hosts: ['example.org'], priority: 19 },
  { rule: 'Host(`Example.ORG`)', req: { host: 'example.org' }, match: true, hosts: ['example.org'] },
  { rule: 'Host(`example.org.`)', req: { host: 'example.org' }, match: true, hosts: ['example.org'] },
  { rule: 'Host(`example.org`)', req: { host: 'other.org' }, match: false, explain: ['✗ Host(`example.org`): host is "other.org"'] },
  { rule: 'Host(`[::1]`)', req: { host: '::1' }, match: true, hosts: ['::1'] },
  { rule: 'Host(`*.example.com`)', req: { host: 'api.example.com' }, match: true, hosts: null, wildcard: ['*.example.com'] },
  { rule: 'Host(`*.example.com`)', req: { host: 'a.b.example.com' }, match: false },
  { rule: 'Host(`*.example.com`)', req: { host: 'example.com' }, match: false },
  { rule: 'Host(`a.*.com`)', error: ['RULE_MATCHER', 'at 5: a wildcard must be the whole first label'] },
  { rule: 'Host(`bücher.de`)', error: ['RULE_MATCHER', 'at 5: only printable ASCII'] },
  // HostRegexp (v3: unanchored, case-insensitive)
  { rule: 'HostRegexp(`^[a-z]+\\.example\\.com$`)', req: { host: 'api.example.com' }, match: true, hosts: null },
  { rule: 'HostRegexp(`example`)', req: { host: 'www.example.org' }, match: true },
  { rule: 'HostRegexp(`^API\\.`)', req: { host: 'api.x.org' }, match: true },
  { rule: 'HostRegexp(`^[a-z]{3}\\.example\\.com$`)', req: { host: 'abc.example.com' }, match: true, as: 'v3' },
  // Path, PathPrefix, PathRegexp on the routing path
  { rule: 'Path(`/api`)', req: { path: '/api' }, match: true },
  { rule: 'Path(`/api`)', req: { path: '/api/' }, match: false },
  { rule: 'Path(`/API`)', req: { path: '/api' }, match: false },
  { rule: 'PathPrefix(`/api`)', req: { path: '/apix' }, match: true },
  { rule: 'PathPrefix(`/a/`)', req: { rawPath: '/a%2Fb' }, match: false },
  { rule: 'PathPrefix(`/a%2fb`)', req: { rawPath: '/a%2fb/c' }, match: true },
  { rule: 'Path(`/a`)', req: { rawPath: '/%61' }, match: true },
  { rule: 'Path(`/café`)', req: { rawPath: '/caf%c3%a9' }, match: true },
  { rule: 'PathPrefix(`api`)', error: ['RULE_MATCHER', 'at 11: a path must start with "/"'] },
  { rule: 'PathRegexp(`\\.php$`)', req: { path: '/x/index.php' }, match: true },
  { rule: 'PathRegexp(`^/v[0-9]+/`)', req: { path: '/vx/' }, match: false },
  { rule: 'PathRegexp(`(?i)^/ADMIN`)', req: { path: '/admin/x' }, match: true },
  { rule: 'PathRegexp(`(`)', error: ['RULE_MATCHER', 'at 11: bad regexp'] },
  { rule: 'PathRegexp(`^/a(?i)b`)', error: ['RULE_MATCHER', 'at 11: bad regexp: inline flags are only supported as a leading'] },
  { rule: 'PathRegexp(`^/(?P<v>v[0-9])/[[:alpha:]]+\\z`)', req: { path: '/v1/abc' }, match: true },
  // Method
  { rule: 'Method(`get`)', req: { method: 'GET' }, match: true },
  { rule: 'Method(`POST`)', req: { method: 'GET' }, match: false, explain: ['✗ Method(`POST`): method is "GET"'] },
  // Header, HeaderRegexp
  { rule: 'Header(`X-Env`, `prod`)', req: { headers: { 'x-env': 'prod' } }, match: true },
  { rule: 'Header(`x-env`, `prod`)', req: { headers: { 'x-env': ['dev', 'prod'] } }, match: true },
  { rule: 'Header(`Accept`, `text/html`)', req: { headers: { accept: 'text/html, application/json' } }, match: true },
  { rule: 'Header(`Accept`, `a, b`)', req: { headers: { accept: 'a, b' } }, match: true },
  { rule: 'Header(`X-Env`, `Prod`)', req: { headers: { 'x-env': 'prod' } }, match: false },
  { rule: 'Header(`X-Env`, `prod`)', match: false, explain: ['✗ Header(`X-Env`, `prod`): header X-Env is absent'] },
  { rule: 'HeaderRegexp(`User-Agent`, `^curl/`)', req: { headers: { 'user-agent': 'curl/8.5' } }, match: true },
  // Query, QueryRegexp (query parsed like Go: + is a space, any value may match)
  { rule: 'Query(`debug`)', req: { query: 'debug' }, match: true },
  { rule: 'Query(`debug`)', req: { query: 'debug=1' }, match: true },
  { rule: 'Query(`debug`)', req: { query: 'x=1' }, match: false },
  { rule: 'Query(`k`, `v`)', req: { query: 'k=a&k=v' }, match: true },
  { rule: 'Query(`q`, `a b`)', req: { query: 'q=a+b' }, match: true },
  { rule: 'QueryRegexp(`id`, `^[0-9]+$`)', req: { query: 'id=4x' }, match: false },
  { rule: 'QueryRegexp(`id`, `^[0-9]+$`)', req: { query: 'id=x&id=42' }, match: true },
  { rule: 'Query(`k`, `v=1`)', req: { query: 'k=v%3D1' }, match: true, as: 'v3' },
  // ClientIP
  { rule: 'ClientIP(`10.0.0.0/8`)', req: { clientIp: '10.1.2.3' }, match: true },
  { rule: 'ClientIP(`10.0.0.0/8`)', req: { clientIp: '11.0.0.1' }, match: false },
  { rule: 'ClientIP(`::1`)', req: { clientIp: '::1' }, match: true },
  { rule: 'ClientIP(`::1`)', req: { clientIp: '::2' }, match: false, explain: ['✗ ClientIP(`::1`): client IP is "::2"'] },
  { rule: 'ClientIP(`::ffff:0:0/96`)', req: { clientIp: '192.0.2.1' }, match: true },
  { rule: 'ClientIP(`2001:db8::/32`)', req: { clientIp: '2001:db8:1::5' }, match: true },
  { rule: 'ClientIP(`10.0.0.300`)', error: ['RULE_MATCHER', 'at 9: not an IP address or CIDR range'] },
  // Operators: && binds tighter than ||, !, parentheses; names case-insensitive
  { rule: 'Host(`a`) || Host(`b`) && Path(`/x`)', req: { host: 'a', path: '/y' }, match: true },
  { rule: '(Host(`a`) || Host(`b`)) && Path(`/x`)', req: { host: 'a', path: '/y' }, match: false },
  { rule: '!Path(`/x`)', req: { path: '/y' }, match: true, hosts: null },
  { rule: '!(Host(`a`) || Host(`b`))', req: { host: 'c' }, match: true, hosts: null },
  { rule: 'Host(`a`) && !PathPrefix(`/admin`)', req: { host: 'a', path: '/admin/x' }, match: false, hosts: ['a'] },
  { rule: 'PATHPREFIX(`/x`) && host(`A`)', req: { host: 'a', path: '/x/y' }, match: true },
  { rule: 'Host("example.com") && Path("/a\\"b")', req: { rawPath: '/a"b' }, match: true },
  { rule: 'HostRegexp("^a\\\\.b$")', req: { host: 'a.b' }, match: true },
  // Syntax errors with 0-based positions
  { rule: 'HostRegexp("a\\.b")', error: ['RULE_SYNTAX', 'invalid escape "\\." at 13'] },
  { rule: 'Host(`a`))', error: ['RULE_SYNTAX', 'unexpected ")" at 9, expected "&&", "||" or end of rule'] },
  { rule: '(Host(`a`)', error: ['RULE_SYNTAX', 'unexpected end of rule at 10, expected ")"'] },
  { rule: 'Foo(`a`)', error: ['RULE_MATCHER', 'unknown matcher "Foo" at 0'] },
  { rule: 'Host(`a`, `b`)', syntax: 'v3', error: ['RULE_MATCHER', 'Host at 0 takes 1 argument in v3 syntax, got 2'] },
  { rule: 'Header(`X`)', error: ['RULE_MATCHER', 'Header at 0 takes 2 arguments'] },
  { rule: "Host('a')", error: ['RULE_SYNTAX', 'single quotes are not allowed at 5'] },
  { rule: 'Host(`a`) &&', error: ['RULE_SYNTAX', 'unexpected end of rule at 12, expected a matcher'] },
  { rule: '  ', error: ['RULE_SYNTAX', 'empty rule'] },
  { rule: 'Host(`a`) & Path(`/`)', error: ['RULE_SYNTAX', 'unexpected "&" at 10, expected "&&"'] },
  { rule: 'Host(`a`', error: ['RULE_SYNTAX', 'unexpected end of rule at 8, expected "," or ")"'] },
  { rule: 'Host(`a)', error: ['RULE_SYNTAX', 'unterminated string starting at 5'] },
  { rule: 'Host(`a`) Path(`/`)', error: ['RULE_SYNTAX', 'unexpected identifier "Path" at 10'] },
  { rule: 'Host()', error: ['RULE_MATCHER', 'Host at 0 takes 1 argument in v3 syntax, got 0'] },
  { rule: 'Host(`a`,)', error: ['RULE_SYNTAX', 'unexpected ")" at 9, expected a quoted argument'] },
  { rule: 'Host(`a`) && Foo(`b`)', error: ['RULE_MATCHER', 'unknown matcher "Foo" at 13'] },
  // v2 syntax, explicit and detected
  { rule: 'Host(`a.com`, `b.com`)', syntax: 'v2', req: { host: 'b.com' }, match: true, as: 'v2', hosts: ['a.com', 'b.com'] },
  { rule: 'Host(`a.com`, `b.com`)', req: { host: 'a.com' }, match: true, as: 'v2', warning: 'rule uses Traefik v2 syntax (multi-argument Host); parsed as v2' },
  { rule: 'HostHeader(`a.com`)', req: { host: 'a.com' }, match: true, as: 'v2', warning: '(HostHeader matcher)', hosts: ['a.com'] },
  { rule: 'Headers(`X-A`, `1`)', req: { headers: { 'x-a': '1' } }, match: true, as: 'v2', warning: '(Headers matcher)' },
  { rule: 'HeadersRegexp(`X-A`, `^[0-9]$`)', syntax: 'v2', req: { headers: { 'x-a': '7' } }, match: true },
  { rule: 'Query(`k=v`)', req: { query: 'k=v' }, match: true, as: 'v2', warning: '(Query(`key=value`))' },
  { rule: 'Query(`a=1`, `b=2`)', syntax: 'v2', req: { query: 'a=1' }, match: false },
  { rule: 'Query(`id={id:[0-9]+}`)', syntax: 'v2', req: { query: 'id=12' }, match: true },
  { rule: 'Path(`/users/{id:[0-9]+}`)', req: { path: '/users/42' }, match: true, as: 'v2', warning: '({name:regexp} placeholder in Path)' },
  { rule: 'Path(`/users/{id:[0-9]+}`)', syntax: 'v2', req: { path: '/users/42/x' }, match: false },
  { rule: 'PathPrefix(`/u/{name}/`)', syntax: 'v2', req: { path: '/u/bob/x' }, match: true },
  { rule: 'Path(`/x/{id:[0-9]{2}}`)', syntax: 'v2', req: { path: '/x/12' }, match: true },
  { rule: 'Path(`/x/{id:[0-9]{2}`)', syntax: 'v2', error: ['RULE_MATCHER', 'at 5: unbalanced "{"'] },
  { rule: 'PathPrefix(`/u/{name}/`)', syntax: 'v2', req: { path: '/u/a' }, match: false },
  { rule: 'HostRegexp(`{sub:[a-z]+}.example.com`)', req: { host: 'api.example.com' }, match: true, as: 'v2', warning: 'HostRegexp' },
  { rule: 'HostRegexp(`{sub:[a-z]+}.example.com`)', syntax: 'v2', req: { host: 'api.example.com.evil.org' }, match: false },
  { rule: 'HostRegexp(`{sub}.example.com`)', syntax: 'v2', req: { host: 'a.b.example.com' }, match: false },
  { rule: 'HostRegexp(`example.com`)', syntax: 'v2', req: { host: 'www.example.com' }, match: false },
  { rule: 'Path(`/users/{id:[0-9]+}`)', syntax: 'v3', req: { path: '/users/42' }, match: false, as: 'v3' },
  { rule: 'PathRegexp(`/x`)', syntax: 'v2', error: ['RULE_MATCHER', 'unknown matcher "PathRegexp" at 0 (v2 matchers'] },
  { rule: 'Method(`GET`, `post`)', syntax: 'v2', req: { method: 'POST' }, match: true },
  { rule: 'ClientIP(`10.0.0.1`, `192.168.0.0/16`)', syntax: 'v2', req: { clientIp: '192.168.3.4' }, match: true },
  { rule: 'Path(`/a`, `/b`) || Headers(`X`)', error: ['RULE_MATCHER', 'Path at 0 takes 1 argument in v3 syntax, got 2'] },
  // Host extraction
  { rule: 'Host(`a.com`) && Path(`/x`)', hosts: ['a.com'] },
  { rule: 'Host(`a.com`) || Host(`B.com`)', hosts: ['a.com', 'b.com'] },
  { rule: 'Host(`a.com`) || Path(`/x`)', hosts: null },
  { rule: 'PathPrefix(`/`)', hosts: null, priority: 15 },
  { rule: '(Host(`a.com`) || Host(`b.com`)) && Host(`b.com`)', hosts: ['b.com'] },
  { rule: 'Host(`*.a.com`) || Host(`b.com`)', hosts: null, wildcard: ['*.a.com'] },
  // explain
  {
    rule: 'Host(`a.localhost`) && PathPrefix(`/api`)', req: { host: 'a.localhost', path: '/v1' }, match: false,
    explain: ['✓ Host(`a.localhost`)', '✗ PathPrefix(`/api`): path is "/v1"'],
  },
  { rule: 'Host(`a`) && !Query(`x`)', req: { host: 'a', query: 'x=1' }, match: false, explain: ['✓ Host(`a`)', '✓ Query(`x`) (negated by !)'] },
];

function request(r: Req = {}): MatchRequest {
  const { rawPath, ...rest } = r;
  return {
    host: 'example.com', path: rawPath === undefined ? '/' : routingPath(rawPath), method: 'GET',
    headers: {}, query: '', clientIp: '127.0.0.1', ...rest,
  };
}

t.test('compileRule', async (t) => {
  for (const c of cases) {
    const label = `${c.syntax ?? 'auto'} ${c.rule}${c.req ? ' ' + JSON.stringify(c.req) : ''}`;
    if (c.error) {
      const [code, message] = c.error;
      let err: unknown;
      try {
        compileRule(c.rule, { syntax: c.syntax });
      } catch (e) {
        err = e;
      }
      t.ok(err instanceof PortierError, `${label}: throws a PortierError`);
      t.equal((err as PortierError).code, code, `${label}: code`);
      t.ok(String((err as Error).message).includes(message), `${label}: message ${JSON.stringify((err as Error).message)}`);
      continue;
    }
    const { rule, warnings } = compileRule(c.rule, { syntax: c.syntax });
    t.same(warnings.length, c.warning ? 1 : 0, `${label}: warning count ${JSON.stringify(warnings)}`);
    if (c.warning) t.match(warnings[0], c.warning, `${label}: warning`);
    if (c.as) t.equal(rule.syntax, c.as, `${label}: syntax`);
    if (c.priority !== undefined) t.equal(rule.defaultPriority, c.priority, `${label}: priority`);
    if (c.hosts !== undefined) t.same(rule.hosts, c.hosts, `${label}: hosts`);
    if (c.wildcard) t.same(rule.hostBinding?.wildcard, c.wildcard, `${label}: wildcard hosts`);
    if (c.match !== undefined) {
      const req = request(c.req);
      t.equal(rule.match(req), c.match, `${label}: match`);
      const ex = rule.explain(req);
      t.equal(ex.matched, c.match, `${label}: explain result`);
      if (c.explain) t.same(ex.lines, c.explain, `${label}: explain lines`);
    }
  }
});

const pathCases: [fn: 'routingPath' | 'normalizeHost', input: string, want: string][] = [
  ['routingPath', '/plain/path-1_x~', '/plain/path-1_x~'],
  ['routingPath', '/a%2fb', '/a%2Fb'],
  ['routingPath', '/%61%62c', '/abc'],
  ['routingPath', '/%7e%2D%2e', '/~-.'],
  ['routingPath', '/%3f%23%25', '/%3F%23%25'],
  ['routingPath', '/a b', '/a%20b'],
  ['routingPath', '/a%20b', '/a%20b'],
  ['routingPath', '/caf\u00e9', '/caf%C3%A9'],
  ['routingPath', '/a{b}', '/a%7Bb%7D'],
  ['routingPath', "/x;y=1,(a)*'!$&+:@", "/x;y=1,(a)*'!$&+:@"],
  ['routingPath', '/x%zz%4', '/x%25zz%254'],
  ['normalizeHost', 'Example.COM:8080', 'example.com'],
  ['normalizeHost', '[::1]:80', '::1'],
  ['normalizeHost', '[::1]', '::1'],
  ['normalizeHost', 'example.com.', 'example.com'],
  ['normalizeHost', 'example.com.:443', 'example.com'],
  ['normalizeHost', '::1', '::1'],
  ['normalizeHost', 'localhost', 'localhost'],
];

t.test('routingPath and normalizeHost', async (t) => {
  const mod = await import('../../src/rules/routing-path');
  for (const [fn, input, want] of pathCases) t.equal(mod[fn](input), want, `${fn}(${JSON.stringify(input)})`);
});
