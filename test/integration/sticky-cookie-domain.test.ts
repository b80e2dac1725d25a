import t from 'tap';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';
import { decodeDynamic } from '../../src/dynamic/decode-dynamic';
import type { ServiceConfig, StickyCookieConfig } from '../../src/dynamic/model';

interface Case {
  name: string;
  service: (backendUrl: string, cookie: StickyCookieConfig) => ServiceConfig;
  domain: string;
  /** The Set-Cookie the client gets, or the decoder's error. */
  want: { cookie: RegExp } | { error: RegExp };
}

const lb = (url: string, cookie?: StickyCookieConfig): ServiceConfig => ({ loadBalancer: { servers: [{ url }], ...(cookie ? { sticky: { cookie } } : {}) } });
const weighted = (_url: string, cookie: StickyCookieConfig): ServiceConfig => ({ weighted: { services: [{ name: 'child' }], sticky: { cookie } } });

const cases: Case[] = [
  { name: 'loadBalancer cookie carries Domain', service: lb, domain: 'shop.localhost', want: { cookie: /^sid=[0-9a-f]+; Path=\/; Domain=shop\.localhost; HttpOnly$/ } },
  { name: 'a leading dot is dropped, as Go does', service: lb, domain: '.shop.localhost', want: { cookie: /; Domain=shop\.localhost;/ } },
  { name: 'weighted cookie carries Domain', service: weighted, domain: 'shop.localhost', want: { cookie: /^sid=[0-9a-f]+; Path=\/; Domain=shop\.localhost; HttpOnly$/ } },
  {
    name: 'a domain that would add attributes is refused with its path',
    service: weighted,
    domain: 'shop.localhost; Secure',
    want: { error: /^http\.services\.s\.weighted\.sticky\.cookie\.domain: expected a domain name/ },
  },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const cookie: StickyCookieConfig = { name: 'sid', httpOnly: true, domain: c.domain };
    if ('error' in c.want) {
      const d = decodeDynamic({ http: { services: { s: c.service('http://127.0.0.1:9', cookie) } } });
      t.match(d.errors['services.s'], [c.want.error]);
      return;
    }
    const backend = await startEchoBackend('b');
    const gw = await startTestGateway({
      http: {
        routers: { r: { rule: 'Host(`shop.localhost`)', service: 's' } },
        services: { s: c.service(backend.url, cookie), child: lb(backend.url) },
      },
    });
    t.teardown(async () => {
      await gw.close();
      await backend.close();
    });
    const r = await request(gw.url, { host: 'shop.localhost' });
    t.equal(r.status, 200);
    t.match(String(r.headers['set-cookie']), c.want.cookie);
  });
}
