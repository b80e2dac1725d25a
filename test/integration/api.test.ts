import t from 'tap';
import { startPortierFromFiles } from '../helpers/portier';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

t.test('the API shows every router, service and middleware with Traefik field names, status and errors', async (t) => {
  const echo = await startEchoBackend('api-app');
  const dynamic = `http:
  routers:
    good:
      rule: Host(\`good.localhost\`)
      middlewares: [strip]
      service: app
    missing-service:
      rule: Host(\`broken.localhost\`)
      service: nowhere
    missing-middleware:
      rule: Host(\`broken2.localhost\`)
      middlewares: [nope@file]
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${echo.url}
          - url: http://127.0.0.1:1
        healthCheck:
          path: /health
          interval: 100ms
          timeout: 100ms
  middlewares:
    strip:
      stripPrefix:
        prefixes: [/api]
`;
  const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:0
  traefik:
    address: 127.0.0.1:0
api: {}
ping: {}
providers:
  file:
    filename: dynamic.yaml
`;
  t.teardown(() => echo.close());
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic });
  const api = `http://127.0.0.1:${portier.gateway.port('traefik')}`;
  const get = async (path: string): Promise<{ status: number; json: any }> => {
    const r = await request(api + path);
    return { status: r.status, json: r.headers['content-type']?.includes('json') ? JSON.parse(r.body) : r.body };
  };
  const deadline = Date.now() + 3000;
  while ((await get('/api/http/services/app@file')).json.serverStatus?.['http://127.0.0.1:1'] !== 'DOWN' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }

  const cases: { path: string; status: number; check: (j: any) => void }[] = [
    {
      path: '/api/http/routers/good@file', status: 200,
      check: (j) => t.match(j, { name: 'good@file', provider: 'file', status: 'enabled', rule: 'Host(`good.localhost`)', service: 'app@file', middlewares: ['strip@file'], entryPoints: ['web'], priority: 22 }),
    },
    { path: '/api/http/routers/missing-service@file', status: 200, check: (j) => t.match(j, { status: 'disabled', error: ['service nowhere@file does not exist'] }) },
    { path: '/api/http/routers/missing-middleware@file', status: 200, check: (j) => t.match(j, { status: 'disabled', error: ['middleware nope@file does not exist'] }) },
    { path: '/api/http/routers?status=disabled', status: 200, check: (j) => t.same(j.map((r: any) => r.name), ['missing-middleware@file', 'missing-service@file']) },
    { path: '/api/http/routers?search=good', status: 200, check: (j) => t.same(j.map((r: any) => r.name), ['good@file']) },
    {
      path: '/api/http/services/app@file', status: 200,
      check: (j) => t.match(j, { type: 'loadbalancer', status: 'enabled', usedBy: ['good@file', 'missing-middleware@file'], serverStatus: { [echo.url]: 'UP', 'http://127.0.0.1:1': 'DOWN' } }),
    },
    { path: '/api/http/middlewares/strip@file', status: 200, check: (j) => t.match(j, { stripPrefix: { prefixes: ['/api'] }, type: 'stripprefix', status: 'enabled', usedBy: ['good@file'] }) },
    { path: '/api/overview', status: 200, check: (j) => t.match(j, { http: { routers: { errors: 2 }, services: { total: 1 }, middlewares: { total: 1 } }, providers: ['file'] }) },
    { path: '/api/rawdata', status: 200, check: (j) => t.ok(j.routers['good@file'] && j.services['app@file'] && j.middlewares['strip@file'], 'rawdata has all three kinds') },
    { path: '/api/entrypoints', status: 200, check: (j) => t.same(j.map((e: any) => e.name).sort(), ['traefik', 'web']) },
    { path: '/api/version', status: 200, check: (j) => t.match(j, { Version: /^\d+\.\d+\.\d+/, Codename: 'portier' }) },
    { path: '/api/http/routers/none@file', status: 404, check: () => undefined },
    { path: '/ping', status: 200, check: (j) => t.equal(j, 'OK') },
  ];
  for (const c of cases) {
    const r = await get(c.path);
    t.equal(r.status, c.status, `${c.path} → ${c.status}`);
    c.check(r.json);
  }
  t.equal((await request(api + '/api/overview', { method: 'POST' })).status, 405, 'the API is read-only');
  const web = `http://127.0.0.1:${portier.gateway.port('web')}`;
  t.equal((await request(web + '/api/x', { host: 'good.localhost' })).status, 200, 'one broken router never disables the others');
  t.equal((await request(web + '/', { host: 'broken.localhost' })).status, 404, 'a disabled router does not route');
  t.equal((await request(web + '/api/overview', { host: 'good.localhost' })).body.includes('routers'), false, 'the API is not on the web entrypoint');
});
