import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthChecker } from '../../src/balancer/health-check';
import { TRANSPORT_DEFAULTS, Transport } from '../../src/proxy/transport';
import { ServerState } from '../../src/balancer/server-state';
import { silentLogger } from '../../src/log/logger';
import type { HealthCheckConfig } from '../../src/dynamic/model';

interface Seen {
  url: string;
  method: string;
  host: string;
  auth?: string;
}

/** `/to/<status>/<path>` redirects to `/<path>` with that status; `/chain/<n>` takes n hops to `/ok`; `/status/<n>` answers n. */
async function backend(seen: Seen[], other?: string): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    seen.push({ url, method: req.method ?? '', host: req.headers.host ?? '', auth: req.headers.authorization });
    let m: RegExpMatchArray | null;
    if ((m = url.match(/^\/to\/(\d+)(\/.*)$/))) res.writeHead(Number(m[1]), { location: m[2] }).end();
    else if ((m = url.match(/^\/chain\/(\d+)$/))) res.writeHead(302, { location: m[1] === '0' ? '/ok' : `/chain/${Number(m[1]) - 1}` }).end();
    else if ((m = url.match(/^\/status\/(\d+)$/))) res.writeHead(Number(m[1])).end();
    else if (url === '/away') res.writeHead(307, { location: `${other}/ok` }).end();
    else if (url === '/nowhere') res.writeHead(302).end();
    else res.writeHead(url === '/ok' ? 200 : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

interface Case {
  name: string;
  hc: HealthCheckConfig;
  healthy: boolean;
  /** What the backends saw, in order (partial match); `OTHER` is the second backend's host. */
  seen?: Partial<Seen>[];
}

const cases: Case[] = [
  { name: 'a redirect is followed by default', hc: { path: '/to/302/ok', status: 200 }, healthy: true, seen: [{ url: '/to/302/ok' }, { url: '/ok' }] },
  { name: 'followed to a failing page: down', hc: { path: '/to/302/status/500' }, healthy: false },
  { name: 'followRedirects=false: the 302 itself is 3xx, healthy', hc: { path: '/to/302/status/500', followRedirects: false }, healthy: true, seen: [{ url: '/to/302/status/500' }] },
  { name: 'followRedirects=false with status 200: the 302 fails', hc: { path: '/to/302/ok', followRedirects: false, status: 200 }, healthy: false },
  { name: 'ten redirects are followed', hc: { path: '/chain/9' }, healthy: true },
  { name: 'an eleventh is not', hc: { path: '/chain/10' }, healthy: false },
  { name: 'a 3xx without Location is judged as it is', hc: { path: '/nowhere', status: 302 }, healthy: true },
  {
    name: '303 turns a POST into a GET; 307 keeps the method',
    hc: { path: '/to/307/to/303/ok', method: 'POST' },
    healthy: true,
    seen: [{ method: 'POST' }, { method: 'POST', url: '/to/303/ok' }, { method: 'GET', url: '/ok' }],
  },
  {
    name: 'a relative Location keeps the hostname override and the headers',
    hc: { path: '/to/301/ok', hostname: 'app.test', headers: { Authorization: 'Bearer t' } },
    healthy: true,
    seen: [{ host: 'app.test', auth: 'Bearer t' }, { url: '/ok', host: 'app.test', auth: 'Bearer t' }],
  },
  {
    name: 'an absolute Location to another host drops the hostname and credentials',
    hc: { path: '/away', hostname: 'app.test', headers: { Authorization: 'Bearer t' } },
    healthy: true,
    seen: [{ host: 'app.test', auth: 'Bearer t' }, { url: '/ok', host: 'OTHER', auth: undefined }],
  },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const seen: Seen[] = [];
    const other = await backend(seen);
    const main = await backend(seen, other.url);
    t.teardown(() => {
      main.close();
      other.close();
    });
    const checker = new HealthChecker({ timeout: '2s', ...c.hc }, [new ServerState(main.url, 1)], new Transport(TRANSPORT_DEFAULTS), silentLogger, () => undefined);
    t.equal(await checker.probe(main.url), c.healthy, 'verdict');
    if (c.seen) {
      const want = c.seen.map((s) => (s.host === 'OTHER' ? { ...s, host: new URL(other.url).host } : s));
      t.match(seen, want, 'requests');
      t.equal(seen.length, want.length, 'request count');
    }
  });
}
