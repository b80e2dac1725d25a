/**
 * The web dashboard in headless Chromium against a real Portier: it lists
 * the routes, marks a broken router with its error, shows server health
 * and certificates, filters, and updates live (server-sent events) when a
 * route appears. A screenshot is kept in test-artifacts/dashboard.png.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';
import { requireChromium, startChromium } from '../helpers/chromium';
import { startPortierFromYaml, selfSignedCert } from './metrics-fixtures';

const ARTIFACTS = path.join(__dirname, '../../test-artifacts');

t.test('dashboard: routes, broken router, live update, filter', async (t) => {
  if (!requireChromium(t)) return;
  const echo = await startEchoBackend('shop');
  t.teardown(() => echo.close());
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-dash-cert-'));
  t.teardown(() => fs.rmSync(certDir, { recursive: true, force: true }));
  const cert = selfSignedCert(certDir, 'shop.test');
  const dynamic = (extra = ''): string => `http:
  routers:
    shop: { rule: "Host(\`shop.test\`)", service: shop, middlewares: [secure] }
    broken: { rule: "Host(\`cart.test\`)", service: missing }
${extra}  middlewares:
    secure: { headers: { frameDeny: true } }
  services:
    shop: { loadBalancer: { servers: [ { url: "${echo.url}" } ] } }
tls:
  certificates:
    - { certFile: ${cert.certFile}, keyFile: ${cert.keyFile} }
`;
  const p = await startPortierFromYaml('api: {}\nmetrics:\n  prometheus: {}\n', dynamic());
  let portierClosed = false;
  t.teardown(() => (portierClosed ? undefined : p.close()));
  const base = p.url('traefik');

  const redirect = await request(`${base}/dashboard`);
  t.equal(redirect.status, 301, '/dashboard redirects');
  t.equal(redirect.headers.location, '/dashboard/');
  const css = await request(`${base}/dashboard/style.css`);
  t.match(css.headers['content-type'], /text\/css/, 'assets are served from the package');

  const browser = await startChromium();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) external.push(r.url());
  });
  await page.goto(`${base}/dashboard/`, { waitUntil: 'domcontentloaded', timeout: 30_000 });

  const shop = page.locator('#routers tr[data-router="shop@file"]');
  await shop.waitFor({ timeout: 20_000 });
  t.match(await shop.innerText(), /Host\(`shop\.test`\)[\s\S]*secure@file[\s\S]*shop@file/, 'the route with rule, middleware and service');
  t.equal(await shop.getAttribute('data-status'), 'enabled');

  const broken = page.locator('#routers tr[data-router="broken@file"]');
  t.equal(await broken.getAttribute('data-status'), 'disabled', 'the broken router is marked disabled');
  t.match(await broken.innerText(), /service missing@file does not exist/, 'with its error');
  t.equal(await broken.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(254, 242, 242)', 'in red');

  const server = page.locator(`#services tr[data-service="shop@file"] [data-server="${echo.url}"]`);
  t.match(await server.innerText(), /UP/, 'each server with its health');
  t.match(await page.locator('#certificates tbody').innerText(), /shop\.test, www\.shop\.test[\s\S]*(29|30)/, 'certificate with days left');
  t.match(await page.locator('#entrypoints tbody').innerText(), /web[\s\S]*traefik[\s\S]*metrics/, 'entrypoints');
  t.match(await page.locator('#live').innerText(), /live/, 'connected to the event stream');

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  // Live update: a new route shows up without a reload.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  p.writeDynamic(dynamic('    fresh: { rule: "Host(`fresh.test`)", service: shop }\n'));
  await page.locator('#routers tr[data-router="fresh@file"]').waitFor({ timeout: 20_000 });
  t.equal(await page.evaluate(() => (window as unknown as { marker: number }).marker), 42, 'the new route arrived without a page reload');

  const cases: { query: string; routers: string[] }[] = [
    { query: 'broken', routers: ['broken@file'] },
    { query: 'fresh.test', routers: ['fresh@file'] },
    { query: '', routers: ['api@internal', 'broken@file', 'dashboard@internal', 'fresh@file', 'prometheus@internal', 'shop@file'] },
  ];
  for (const c of cases) {
    await page.fill('#search', c.query);
    const names = await page.locator('#routers tbody tr[data-router]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-router')));
    t.same(names, c.routers, `filter "${c.query}"`);
  }
  t.same(external, [], 'no request leaves the Portier API (no CDN)');

  const started = Date.now();
  await p.close();
  portierClosed = true;
  t.ok(Date.now() - started < 5000, 'an open event stream does not hold up a graceful stop');
});
