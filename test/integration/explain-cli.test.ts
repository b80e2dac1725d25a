/**
 * `portier explain` against a running Portier's API and offline from the
 * configuration file, and `/api/explain`: the matching router with its
 * middlewares and servers, and why each near miss does not match.
 */
import t from 'tap';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';
import { startPortierFromYaml } from './metrics-fixtures';
import { explainCommand } from '../../src/explain/command';
import { freePort } from '../../src/engine/free-port';

async function explain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (c: Buffer) => (o += c.toString()));
  err.on('data', (c: Buffer) => (e += c.toString()));
  const code = await explainCommand(args, out as unknown as typeof process.stdout, err as unknown as typeof process.stderr);
  return { code, out: o, err: e };
}

t.test('explain: matches and near misses, online and offline', async (t) => {
  const echo = await startEchoBackend('shop');
  t.teardown(() => echo.close());
  const p = await startPortierFromYaml(
    'api: {}\n',
    `http:
  routers:
    shop-v1: { rule: "Host(\`shop.test\`) && PathPrefix(\`/v1\`)", service: shop, middlewares: [strip, secure] }
    shop-v2: { rule: "Host(\`shop.test\`) && PathPrefix(\`/v2\`) && Header(\`X-Version\`, \`2\`)", service: shop }
    shop-admin: { rule: "Host(\`shop.test\`) && PathPrefix(\`/admin\`) && Method(\`POST\`)", service: shop }
    shop-tls: { rule: "Host(\`shop.test\`) && PathPrefix(\`/pay\`)", service: shop, tls: true }
    blog: { rule: "Host(\`blog.test\`) && PathPrefix(\`/v1\`)", service: shop }
    broken: { rule: "Host(\`shop.test\`) && PathPrefix(\`/cart\`)", service: missing }
  middlewares:
    strip: { stripPrefix: { prefixes: ["/v1"] } }
    secure: { headers: { frameDeny: true } }
  services:
    shop: { loadBalancer: { servers: [ { url: "${echo.url}" } ] } }
`,
    ['web', 'websecure', 'traefik'],
  );
  t.teardown(() => p.close());
  const api = p.url('traefik');
  const config = path.join(p.dir, 'portier.yaml');
  const deadApi = `http://127.0.0.1:${await freePort()}`;

  const cases: { name: string; args: string[]; code: number; out: RegExp[]; notOut?: RegExp[] }[] = [
    {
      name: 'a match lists the middleware chain and the UP servers',
      args: ['http://shop.test/v1/users'],
      code: 0,
      out: [/^MATCH {2}shop-v1@file/m, /✓ Host\(`shop\.test`\)/, /✓ PathPrefix\(`\/v1`\)/, /middlewares: strip@file \[stripPrefix\] → secure@file \[headers\]/, new RegExp(`would pick one of: ${echo.url.replace(/\./g, '\\.')}`)],
      notOut: [/NO MATCH/],
    },
    {
      name: 'same host, other path: each sibling says which matcher failed',
      args: ['http://shop.test/v3/items'],
      code: 1,
      out: [/NO MATCH/, /✗ shop-v1@file .*a matcher failed/, /✗ PathPrefix\(`\/v1`\): path is "\/v3\/items"/],
    },
    {
      name: 'same path, other host',
      args: ['http://news.test/v1/x'],
      code: 1,
      out: [/✗ shop-v1@file/, /✗ Host\(`shop\.test`\): host is "news\.test"/, /✗ blog@file/],
    },
    { name: 'method matcher', args: ['http://shop.test/admin', '--method', 'GET'], code: 1, out: [/✗ shop-admin@file/, /✗ Method\(`POST`\)/] },
    { name: 'method given', args: ['http://shop.test/admin', '-X', 'POST'], code: 0, out: [/^MATCH {2}shop-admin@file/m] },
    { name: 'header given', args: ['http://shop.test/v2/a', '-H', 'X-Version: 2'], code: 0, out: [/^MATCH {2}shop-v2@file/m, /✓ Header\(`X-Version`, `2`\)/] },
    { name: 'header missing', args: ['http://shop.test/v2/a'], code: 1, out: [/✗ shop-v2@file/, /✗ Header\(`X-Version`, `2`\)/] },
    { name: 'a TLS-only router asked over plain HTTP', args: ['http://shop.test/pay'], code: 1, out: [/✗ shop-tls@file .*its rule matches, but it only serves HTTPS/] },
    { name: 'the same router over HTTPS, on websecure', args: ['https://shop.test/pay'], code: 0, out: [/entrypoint websecure \(TLS\)/, /^MATCH {2}shop-tls@file/m] },
    { name: 'a disabled router says why', args: ['http://shop.test/cart'], code: 1, out: [/✗ broken@file .*its rule matches, but the router is disabled: service missing@file does not exist/] },
  ];
  for (const c of cases) {
    for (const mode of ['online', 'offline'] as const) {
      const r = await explain([...c.args, '--api', mode === 'online' ? api : deadApi, '--config', config]);
      t.equal(r.code, c.code, `${mode}: ${c.name}: exit code`);
      for (const re of c.out) t.match(r.out, re, `${mode}: ${c.name}`);
      for (const re of c.notOut ?? []) t.notMatch(r.out, re, `${mode}: ${c.name}`);
      if (mode === 'offline') t.match(r.err, /no Portier API at .* offline/, `${mode}: says it explains offline`);
      else t.equal(r.err, '', `${mode}: nothing on stderr`);
    }
  }

  const json = await request(`${api}/api/explain?url=${encodeURIComponent('http://shop.test/v1/x')}&method=GET`);
  t.equal(json.status, 200);
  const body = JSON.parse(json.body);
  t.equal(body.match.router, 'shop-v1@file');
  t.same(body.match.servers, [echo.url]);
  t.same(body.match.middlewares.map((m: { name: string }) => m.name), ['strip@file', 'secure@file']);
  const bad = await request(`${api}/api/explain`);
  t.equal(bad.status, 400);
  t.match(JSON.parse(bad.body).message, /url parameter is required/);
  const usage = await explain(['--bogus']);
  t.equal(usage.code, 2);
  t.match(usage.err, /unexpected argument "--bogus"/);
});
