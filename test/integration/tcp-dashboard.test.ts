import t from 'tap';
import net from 'node:net';
import { requireChromium, startChromium } from '../helpers/chromium';
import { startPortierFromFiles } from '../helpers/portier';

t.test('dashboard: TCP routers, services and middlewares with status, errors, servers and counts', async (t) => {
  if (!requireChromium(t)) return;
  const backend = net.createServer((s) => s.end('hi\n'));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => backend.close(() => resolve())));
  const port = (backend.address() as net.AddressInfo).port;
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': `entryPoints:
  traefik: {address: "127.0.0.1:0"}
  db: {address: "127.0.0.1:0"}
api: {}
providers:
  file: {filename: dynamic.yaml}
`,
    'dynamic.yaml': `tcp:
  routers:
    pg: {entryPoints: [db], rule: "HostSNI(\`*\`)", service: pg, middlewares: [local]}
    sni: {entryPoints: [db], rule: "HostSNI(\`db.localhost\`)", service: pg, tls: {passthrough: true}}
    broken: {entryPoints: [db], rule: "Host(\`x.localhost\`)", service: pg}
  services:
    pg: {loadBalancer: {servers: [{address: "127.0.0.1:${port}"}]}}
  middlewares:
    local: {ipAllowList: {sourceRange: ["127.0.0.1/32"]}}
`,
  });
  const browser = await startChromium();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();
  await page.goto(`http://127.0.0.1:${portier.gateway.port('traefik')}/dashboard/`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  const rows: [string, RegExp, string][] = [
    ['#tcp-routers tr[data-tcp-router="pg@file"]', /pg@file[\s\S]*HostSNI\(`\*`\)[\s\S]*db[\s\S]*local@file[\s\S]*pg@file/, 'enabled'],
    ['#tcp-routers tr[data-tcp-router="sni@file"]', /sni@file[\s\S]*HostSNI\(`db\.localhost`\)[\s\S]*passthrough/, 'enabled'],
    ['#tcp-routers tr[data-tcp-router="broken@file"]', /broken@file[\s\S]*Host/, 'disabled'],
    ['#tcp-services tr[data-tcp-service="pg@file"]', new RegExp(`pg@file[\\s\\S]*loadbalancer[\\s\\S]*UP[\\s\\S]*127\\.0\\.0\\.1:${port}`), 'enabled'],
    ['#tcp-middlewares tr[data-tcp-middleware="local@file"]', /local@file[\s\S]*ipallowlist/i, 'enabled'],
  ];
  for (const [selector, text, status] of rows) {
    const row = page.locator(selector);
    await row.waitFor({ timeout: 20_000 });
    t.match(await row.innerText(), text, selector);
    t.equal(await row.getAttribute('data-status'), status, `${selector}: ${status}`);
  }
  t.match(await page.locator('[data-card="tcp-routers"]').innerText(), /TCP routers\s*3\s*0 warnings · 1 errors/, 'overview card');
});
