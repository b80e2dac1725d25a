import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPortier, type Portier } from '../../src/app';
import { staticConfigDecoder } from '../../src/config/static';
import { redactMiddlewareOptions } from '../../src/api/redact';
import { createLogger } from '../../src/log/logger';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

/**
 * Nobody let in: the API only on loopback unless `api.insecure` (with a
 * warning), read-only, secrets never in the API or the log, forwarded
 * headers from untrusted peers discarded.
 */

const PASSWORD = 'correct horse';
const SHA = `{SHA}${createHash('sha1').update(PASSWORD).digest('base64')}`;
const DIGEST = createHash('md5').update(`admin:portier:${PASSWORD}`).digest('hex');
const TOKEN = 'Bearer s3cr3t-t0ken-value';
const SECRETS = [SHA, SHA.slice(5, 25), DIGEST, 's3cr3t-t0ken'];

async function portier(t: Test, traefikAddress: string, api: Record<string, unknown>, backendUrl: string): Promise<{ app: Portier; log: string[] }> {
  const dir = t.testdir({});
  writeFileSync(
    path.join(dir, 'dynamic.yaml'),
    [
      'http:',
      '  routers:',
      '    private: {rule: "Host(`private.localhost`)", service: backend, middlewares: [auth, token], entryPoints: [web]}',
      '    guarded-api: {rule: "Host(`admin.localhost`)", service: api@internal, middlewares: [auth], entryPoints: [traefik]}',
      '  middlewares:',
      `    auth: {basicAuth: {users: ["admin:${SHA}"]}}`,
      `    digest: {digestAuth: {users: ["admin:portier:${DIGEST}"]}}`,
      `    token: {headers: {customRequestHeaders: {Authorization: "${TOKEN}", X-Plain: visible}}}`,
      '  services:',
      `    backend: {loadBalancer: {servers: [{url: "${backendUrl}"}]}}`,
      '',
    ].join('\n'),
  );
  const config = staticConfigDecoder(
    {
      entryPoints: { web: { address: '127.0.0.1:0' }, traefik: { address: traefikAddress } },
      providers: { providersThrottleDuration: '5ms', file: { filename: path.join(dir, 'dynamic.yaml'), watch: false } },
      api,
    },
    '',
  );
  const log: string[] = [];
  const app = await startPortier(config, createLogger({ level: 'debug', write: (line) => log.push(line) }), { baseDir: dir });
  t.teardown(() => app.close(500));
  return { app, log };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

t.test('the API is served on loopback, refused on a public address unless api.insecure (with a warning)', async (t) => {
  const echo = await startEchoBackend();
  t.teardown(() => echo.close());
  const cases = [
    { name: 'loopback traefik entrypoint', address: '127.0.0.1:0', api: {}, status: 200, warning: null },
    { name: 'all interfaces, not insecure', address: '0.0.0.0:0', api: {}, status: 404, warning: /api: no automatic route.*not on loopback/ },
    { name: 'all interfaces, api.insecure: true', address: '0.0.0.0:0', api: { insecure: true }, status: 200, warning: /api\.insecure.*without authentication/ },
  ];
  for (const c of cases) {
    const { app, log } = await portier(t, c.address, c.api, echo.url);
    const api = `http://127.0.0.1:${app.gateway.port('traefik')}`;
    t.equal((await request(`${api}/api/version`)).status, c.status, `${c.name}: /api/version → ${c.status}`);
    const warnings = log.filter((l) => / WARN /.test(l));
    if (c.warning) t.ok(warnings.some((l) => c.warning.test(l)), `${c.name}: warning logged`);
    else t.same(warnings.filter((l) => /api/.test(l)), [], `${c.name}: no API warning`);
    if (c.status === 404) {
      const guarded = (headers: Record<string, string>) => request(`${api}/api/version`, { host: 'admin.localhost', headers });
      t.equal((await until(() => guarded({}), (r) => r.status !== 404)).status, 401, `${c.name}: a user's router to api@internal behind basicAuth asks for credentials`);
      const creds = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
      t.equal((await guarded(creds)).status, 200, `${c.name}: and serves the API with them`);
    }
    if (c.status === 200) {
      const post = await request(`${api}/api/http/routers`, { method: 'POST', body: '{}' });
      t.equal(post.status, 405, `${c.name}: the API is read-only`);
    }
  }
});

t.test('basicAuth/digestAuth hashes and credential headers never appear in the API or the log', async (t) => {
  const echo = await startEchoBackend();
  t.teardown(() => echo.close());
  const { app, log } = await portier(t, '127.0.0.1:0', {}, echo.url);
  const api = `http://127.0.0.1:${app.gateway.port('traefik')}`;
  const web = `http://127.0.0.1:${app.gateway.port('web')}`;
  const authorized = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
  const ok = await until(() => request(web, { host: 'private.localhost', headers: authorized }), (r) => r.status === 200);
  t.equal(ok.status, 200, 'the middleware still works with the real hash');
  t.equal(JSON.parse(ok.body).headers.authorization, TOKEN, 'and the headers middleware still sets its value');
  t.equal((await request(web, { host: 'private.localhost' })).status, 401, 'no credentials: 401');
  const paths = ['/api/http/middlewares', '/api/http/middlewares/auth@file', '/api/http/middlewares/digest@file', '/api/http/middlewares/token@file', '/api/rawdata'];
  for (const p of paths) {
    const r = await request(`${api}${p}`);
    t.equal(r.status, 200, `${p}: 200`);
    for (const s of SECRETS) t.notOk(r.body.includes(s), `${p}: does not contain ${JSON.stringify(s.slice(0, 12))}…`);
  }
  const auth = JSON.parse((await request(`${api}/api/http/middlewares/auth@file`)).body);
  t.same(auth.basicAuth.users, ['admin:REDACTED'], 'basicAuth users show the user name only');
  const digest = JSON.parse((await request(`${api}/api/http/middlewares/digest@file`)).body);
  t.same(digest.digestAuth.users, ['admin:portier:REDACTED'], 'digestAuth users show user and realm only');
  const token = JSON.parse((await request(`${api}/api/http/middlewares/token@file`)).body);
  t.same(token.headers.customRequestHeaders, { Authorization: 'REDACTED', 'X-Plain': 'visible' }, 'credential headers redacted, others kept');
  const search = JSON.parse((await request(`${api}/api/http/middlewares?search=${encodeURIComponent(SHA.slice(5, 25))}`)).body);
  t.same(search, [], 'searching for a hash finds nothing');
  t.ok(log.length > 0, 'the debug log was captured');
  for (const s of SECRETS) t.notOk(log.some((l) => l.includes(s)), `the log does not contain ${JSON.stringify(s.slice(0, 12))}…`);
});

t.test('forwarded headers from an untrusted peer never reach the backend; from a trusted one they do', async (t) => {
  const echo = await startEchoBackend();
  const dynamic = { http: { routers: { r: { rule: 'Host(`fwd.localhost`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: echo.url }] } } } } };
  const untrusted = await startTestGateway(dynamic);
  const trusted = await startTestGateway(dynamic, { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', forwardedHeaders: { trustedIPs: ['127.0.0.1/32'] } } } } });
  t.teardown(async () => {
    await untrusted.close();
    await trusted.close();
    await echo.close();
  });
  const spoof = { forwarded: 'for=6.6.6.6;host=evil.example;proto=https', 'x-forwarded-prefix': '/admin', 'x-forwarded-port': '1', 'x-forwarded-server': 'evil' };
  const cases = [
    { name: 'untrusted', gw: untrusted, forwarded: undefined, prefix: undefined, port: String(untrusted.port) },
    { name: 'trusted', gw: trusted, forwarded: spoof.forwarded, prefix: '/admin', port: '1' },
  ];
  for (const c of cases) {
    const seen = JSON.parse((await request(c.gw.url, { host: 'fwd.localhost', headers: spoof })).body).headers;
    t.equal(seen.forwarded, c.forwarded, `${c.name}: Forwarded`);
    t.equal(seen['x-forwarded-prefix'], c.prefix, `${c.name}: X-Forwarded-Prefix`);
    t.equal(seen['x-forwarded-port'], c.port, `${c.name}: X-Forwarded-Port`);
    t.not(seen['x-forwarded-server'], 'evil', `${c.name}: X-Forwarded-Server is always Portier's`);
  }
});

t.test('redaction of every known secret option, whatever the key case (labels arrive lowercased)', async (t) => {
  const cases: { type: string; options: unknown; want: unknown }[] = [
    { type: 'basicAuth', options: { users: ['a:$apr1$x$y', 'b:{SHA}zz'] }, want: { users: ['a:REDACTED', 'b:REDACTED'] } },
    { type: 'basicauth', options: { users: 'a:$apr1$x$y,b:{SHA}zz', usersfile: '/etc/users' }, want: { users: ['a:REDACTED', 'b:REDACTED'], usersfile: '/etc/users' } },
    { type: 'digestAuth', options: { Users: ['a:realm:0123abcd'] }, want: { Users: ['a:realm:REDACTED'] } },
    { type: 'forwardAuth', options: { address: 'http://auth', tls: { cert: '/c.pem', key: '/k.pem' } }, want: { address: 'http://auth', tls: { cert: '/c.pem', key: 'REDACTED' } } },
    { type: 'forwardauth', options: { address: 'http://auth', TLS: { Key: '/k.pem' } }, want: { address: 'http://auth', TLS: { Key: 'REDACTED' } } },
    {
      type: 'headers',
      options: { customRequestHeaders: { 'X-Api-Key': 'k', Cookie: 'c', 'X-Up': 'u' }, customResponseHeaders: { 'Set-Cookie': 's', 'X-Down': 'd', 'X-Token': '' } },
      want: { customRequestHeaders: { 'X-Api-Key': 'REDACTED', Cookie: 'REDACTED', 'X-Up': 'u' }, customResponseHeaders: { 'Set-Cookie': 'REDACTED', 'X-Down': 'd', 'X-Token': '' } },
    },
    { type: 'stripPrefix', options: { prefixes: ['/a'] }, want: { prefixes: ['/a'] } },
  ];
  for (const c of cases) {
    const before = JSON.stringify(c.options);
    t.same(redactMiddlewareOptions(c.type, c.options), c.want, `${c.type}: ${before}`);
    t.equal(JSON.stringify(c.options), before, `${c.type}: the running configuration is not modified`);
  }
});
