import t from 'tap';
import { compileTcpRule } from '../../src/rules/tcp-compile';
import type { TcpMatch } from '../../src/rules/tcp-matchers';

/** The TCP rule compiler, one table: rule, connection, expected match (or the error a user sees), and Traefik's default priority. */
const conn = (serverName: string, clientIp = '10.0.0.5', alpn: string[] = []): TcpMatch => ({ serverName, clientIp, alpn });

const cases: { rule: string; syntax?: 'v2' | 'v3'; matches?: [TcpMatch, boolean][]; error?: RegExp; priority?: number; catchAll?: boolean; sni?: string[]; warns?: RegExp }[] = [
  { rule: 'HostSNI(`*`)', matches: [[conn(''), true], [conn('a.test'), true]], priority: -1, catchAll: true, sni: ['*'] },
  { rule: 'HostSNI(`db.test`)', matches: [[conn('db.test'), true], [conn('DB.test'.toLowerCase()), true], [conn('x.db.test'), false], [conn(''), false]], priority: 18, catchAll: false, sni: ['db.test'] },
  { rule: 'HostSNI(`DB.Test.`)', matches: [[conn('db.test'), true]], sni: ['db.test'] },
  { rule: 'HostSNI(`*.shop.test`)', matches: [[conn('a.shop.test'), true], [conn('a.b.shop.test'), false], [conn('shop.test'), false]] },
  { rule: 'HostSNIRegexp(`^db[0-9]+\\.test$`)', matches: [[conn('db12.test'), true], [conn('dbx.test'), false]] },
  { rule: 'ClientIP(`10.0.0.0/8`)', matches: [[conn('', '10.1.2.3'), true], [conn('', '192.168.1.1'), false]] },
  { rule: 'ALPN(`postgresql`)', matches: [[conn('a', '1.1.1.1', ['postgresql']), true], [conn('a', '1.1.1.1', ['h2']), false]] },
  { rule: 'HostSNI(`a.test`) && !ClientIP(`10.0.0.0/8`)', matches: [[conn('a.test', '11.0.0.1'), true], [conn('a.test', '10.0.0.1'), false]], catchAll: false },
  { rule: '(HostSNI(`a.test`) || HostSNI(`b.test`)) && ClientIP(`::1`)', matches: [[conn('b.test', '::1'), true], [conn('c.test', '::1'), false]], sni: ['a.test', 'b.test'] },
  { rule: 'HostSNI(`a.test`, `b.test`)', matches: [[conn('b.test'), true]], warns: /Traefik v2 syntax/ },
  { rule: 'HostSNI(`a.test`, `b.test`)', syntax: 'v3', error: /takes 1 argument in v3 syntax, got 2/ },
  { rule: 'Host(`db.test`)', error: /Host is an HTTP matcher; a TCP router's rule uses HostSNI/ },
  { rule: 'HostSNI(`a.test`) && PathPrefix(`/x`)', error: /PathPrefix is an HTTP matcher/ },
  { rule: 'HostSNI(`a b`)', error: /invalid HostSNI argument "a b" at 8: not a valid host name/ },
  { rule: 'HostSNI(`*`, `a.test`)', syntax: 'v2', error: /`\*` must be the only argument/ },
  { rule: 'ALPN(`acme-tls/1`)', error: /reserved for ACME/ },
  { rule: 'ClientIP(`nope`)', error: /not an IP address or CIDR range/ },
  { rule: 'HostSNI(`a.test`) &&', error: /unexpected end of rule at 20, expected a matcher/ },
  { rule: 'Nope(`x`)', error: /unknown matcher "Nope" at 0 \(v3 matchers: HostSNI, HostSNIRegexp, ClientIP, ALPN/ },
];

for (const c of cases) {
  t.test(`${c.rule}${c.syntax ? ` (${c.syntax})` : ''}`, async (t) => {
    if (c.error) {
      t.throws(() => compileTcpRule(c.rule, c.syntax), c.error);
      return;
    }
    const { rule, warnings } = compileTcpRule(c.rule, c.syntax);
    for (const [m, want] of c.matches ?? []) t.equal(rule.match(m), want, `${JSON.stringify(m)} → ${want}`);
    if (c.priority !== undefined) t.equal(rule.defaultPriority, c.priority, 'default priority');
    if (c.catchAll !== undefined) t.equal(rule.catchAll, c.catchAll, 'catch-all');
    if (c.sni) t.same(rule.sni, c.sni, 'HostSNI names');
    if (c.warns) t.match(warnings.join(), c.warns);
    else t.same(warnings, []);
  });
}
