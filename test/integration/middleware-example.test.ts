import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { DynamicConfig } from '../../src/dynamic/model';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

t.test('examples/middlewares/dynamic.yaml loads cleanly and behaves as its README says', async (t) => {
  const app = await startEchoBackend('app');
  t.teardown(() => app.close());
  const pages = await startEchoBackend('pages');
  t.teardown(() => pages.close());
  const text = readFileSync(join(__dirname, '../../examples/middlewares/dynamic.yaml'), 'utf8')
    .replace('http://127.0.0.1:3000', app.url)
    .replace('http://127.0.0.1:3001', pages.url);
  const gw = await startTestGateway(YAML.parse(text) as DynamicConfig);
  t.teardown(() => gw.close());

  for (const name of ['site', 'api', 'admin', 'legacy']) t.same(gw.router(name)?.errors, [], `router ${name} is enabled`);

  const demo = `Basic ${Buffer.from('demo:demo').toString('base64')}`;
  const cases = [
    { host: 'site.localhost', path: '/', headers: {}, status: 200, response: { 'x-frame-options': 'DENY', 'x-served-by': 'portier' }, upstreamUrl: '/' },
    { host: 'site.localhost', path: '/api/users', headers: {}, status: 200, response: {}, upstreamUrl: '/users' },
    {
      host: 'site.localhost', path: '/api/users', method: 'OPTIONS',
      headers: { origin: 'http://site.localhost:8080', 'access-control-request-method': 'POST' },
      status: 200, response: { 'access-control-allow-origin': 'http://site.localhost:8080', 'access-control-allow-methods': 'GET,POST,OPTIONS' }, upstreamUrl: null,
    },
    { host: 'admin.localhost', path: '/', headers: {}, status: 401, response: { 'www-authenticate': 'Basic realm="admin"' }, upstreamUrl: null },
    { host: 'admin.localhost', path: '/', headers: { authorization: demo }, status: 200, response: {}, upstreamUrl: '/', user: 'demo' },
    { host: 'old.localhost', path: '/some/page', headers: {}, status: 301, response: { location: 'http://site.localhost/some/page' }, upstreamUrl: null },
  ];
  for (const c of cases) {
    const reply = await request(gw.url + c.path, { host: c.host, method: c.method ?? 'GET', headers: c.headers });
    const what = `${c.method ?? 'GET'} ${c.host}${c.path}`;
    t.equal(reply.status, c.status, `${what}: status`);
    for (const [k, v] of Object.entries(c.response)) t.equal(reply.headers[k], v, `${what}: ${k}`);
    const seen = reply.headers['x-backend'] === 'app' ? (JSON.parse(reply.body) as { url: string; headers: Record<string, string> }) : undefined;
    t.equal(seen?.url, c.upstreamUrl ?? undefined, `${what}: upstream url`);
    if (c.user) t.equal(seen?.headers['x-webauth-user'], c.user, `${what}: user header`);
  }
});
