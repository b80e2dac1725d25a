import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

/**
 * Errors stay local in a file, as they do in labels: a broken router,
 * service or middleware is disabled with its error (API and log) and the
 * rest of the file serves; on a reload, a broken new definition leaves the
 * last good one serving, marked `warning`.
 */
const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:0
  traefik:
    address: 127.0.0.1:0
api: {}
providers:
  providersThrottleDuration: 5ms
  file:
    filename: dynamic.yaml
dataDir: ./data
`;

async function until(what: string, cond: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

t.test('startup: one broken object among many disables only itself and its routers', async (t) => {
  const echo = await startEchoBackend('local-errors');
  t.teardown(() => echo.close());
  const dynamic = `http:
  routers:
    good:
      rule: Host(\`good.localhost\`)
      service: app
    stripped:
      rule: Host(\`stripped.localhost\`)
      middlewares: [strip]
      service: app
    bad-rule:
      rule: Host(\`bad-rule.localhost\`
      service: app
    typo:
      rule: Host(\`typo.localhost\`)
      servise: app
    no-service:
      rule: Host(\`no-service.localhost\`)
      service: nowhere
    no-middleware:
      rule: Host(\`no-middleware.localhost\`)
      middlewares: [ghost]
      service: app
    grpc:
      rule: Host(\`grpc.localhost\`)
      service: h2
    bad-auth:
      rule: Host(\`bad-auth.localhost\`)
      middlewares: [auth]
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${echo.url}
    h2:
      loadBalancer:
        servers:
          - url: ftp://127.0.0.1:9
  middlewares:
    strip:
      stripPrefix:
        prefixes: [/api]
    auth:
      basicAuth:
        users: ["not-a-htpasswd-line"]
`;
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic });
  const web = `http://127.0.0.1:${portier.gateway.port('web')}`;
  const api = `http://127.0.0.1:${portier.gateway.port('traefik')}`;
  const cases: { path: string; host?: string; http: number; status: string; error?: RegExp }[] = [
    { path: 'routers/good@file', host: 'good.localhost', http: 200, status: 'enabled' },
    { path: 'routers/stripped@file', host: 'stripped.localhost', http: 200, status: 'enabled' },
    { path: 'routers/bad-rule@file', host: 'bad-rule.localhost', http: 404, status: 'disabled', error: /dynamic\.yaml:11: http\.routers\.bad-rule\.rule: unexpected end of rule/ },
    { path: 'routers/typo@file', host: 'typo.localhost', http: 404, status: 'disabled', error: /dynamic\.yaml:15: http\.routers\.typo\.servise: unknown key \(did you mean service\?\)/ },
    { path: 'routers/no-service@file', host: 'no-service.localhost', http: 404, status: 'disabled', error: /^service nowhere@file does not exist$/ },
    { path: 'routers/no-middleware@file', host: 'no-middleware.localhost', http: 404, status: 'disabled', error: /^middleware ghost@file does not exist$/ },
    { path: 'routers/grpc@file', host: 'grpc.localhost', http: 404, status: 'disabled', error: /^service h2@file is disabled: .*unsupported scheme ftp:/ },
    { path: 'services/h2@file', http: 0, status: 'disabled', error: /dynamic\.yaml:\d+: http\.services\.h2\.loadBalancer\.servers\[0\]\.url: unsupported scheme ftp:/ },
    { path: 'routers/bad-auth@file', host: 'bad-auth.localhost', http: 404, status: 'disabled', error: /^middleware auth@file is disabled: .*users\[0\]/ },
    { path: 'middlewares/auth@file', http: 0, status: 'disabled', error: /users\[0\]/ },
  ];
  for (const c of cases) {
    if (c.host) t.equal((await request(`${web}/api/x`, { host: c.host })).status, c.http, `${c.path}: ${c.http} over HTTP`);
    const view = JSON.parse((await request(`${api}/api/http/${c.path}`)).body) as { status: string; error?: string[] };
    t.equal(view.status, c.status, `${c.path}: ${c.status} in the API`);
    if (c.error) t.ok(view.error?.some((e) => c.error!.test(e)), `${c.path}: its error among ${JSON.stringify(view.error)}`);
    else t.notOk(view.error, `${c.path}: no error`);
  }
});

t.test('reload: a broken new definition keeps the last good one serving, marked warning, until it is fixed', async (t) => {
  const echo = await startEchoBackend('reload');
  t.teardown(() => echo.close());
  const file = (o: { appRule: string; otherRule: string; url: string; strip: string }): string => `http:
  routers:
    app:
      rule: ${o.appRule}
      middlewares: [strip]
      service: app
    other:
      rule: ${o.otherRule}
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: ${o.url}
  middlewares:
    strip:
      stripPrefix:
        ${o.strip}
`;
  const good = { appRule: 'Host(`app.localhost`)', otherRule: 'Host(`one.localhost`)', url: echo.url, strip: 'prefixes: [/api]' };
  const { portier, dir } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': file(good) });
  const web = `http://127.0.0.1:${portier.gateway.port('web')}`;
  const status = async (host: string): Promise<number> => (await request(`${web}/api/x`, { host })).status;
  t.equal(await status('app.localhost'), 200, 'app serves');

  // One broken edit per object; `other` changes too, so the reload is seen to be applied.
  const broken = { appRule: 'Host(`new.localhost`', otherRule: 'Host(`two.localhost`)', url: 'ftp://127.0.0.1:9', strip: 'prefixez: [/api]' };
  writeFileSync(join(dir, 'dynamic.yaml'), file(broken));
  await until('the reload', async () => (await status('two.localhost')) === 200);
  const KEPT = /: new definition refused, the last good one keeps serving$/;
  const cases: { kind: 'routers' | 'services' | 'middlewares'; name: string; refused: RegExp }[] = [
    { kind: 'routers', name: 'app@file', refused: /dynamic\.yaml:4: http\.routers\.app\.rule: unexpected end of rule/ },
    { kind: 'services', name: 'app@file', refused: /dynamic\.yaml:14: http\.services\.app\.loadBalancer\.servers\[0\]\.url: unsupported scheme ftp:/ },
    { kind: 'middlewares', name: 'strip@file', refused: /http\.middlewares\.strip\.stripPrefix\.prefixez: unknown key/ },
  ];
  for (const c of cases) {
    const o = portier.gateway.table[c.kind].get(c.name);
    t.equal(o?.status, 'warning', `${c.kind} ${c.name}: marked warning`);
    t.same(o?.errors, [], `${c.kind} ${c.name}: not disabled`);
    t.match(o?.warnings.filter((w) => KEPT.test(w)), [c.refused], `${c.kind} ${c.name}: says which new definition was refused and why`);
  }
  t.equal(await status('app.localhost'), 200, 'the old router definition (and service, and middleware) keeps serving');
  t.equal(await status('new.localhost'), 404, 'the broken new rule does not');

  writeFileSync(join(dir, 'dynamic.yaml'), file({ ...good, appRule: 'Host(`new.localhost`)', otherRule: 'Host(`three.localhost`)' }));
  await until('the fix', async () => (await status('three.localhost')) === 200);
  t.equal(await status('new.localhost'), 200, 'fixed: the new definition serves');
  t.equal(await status('app.localhost'), 404, 'and the old one is gone');
  for (const c of cases) t.equal(portier.gateway.table[c.kind].get(c.name)?.status, 'enabled', `${c.kind} ${c.name}: enabled again`);
});
