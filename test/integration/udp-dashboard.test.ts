import t from 'tap';
import { requireChromium, startChromium } from '../helpers/chromium';
import { startPortierFromFiles } from '../helpers/portier';
import { startUdpEcho } from '../helpers/udp';

t.test('dashboard: UDP routers and services with status, errors, servers and counts', async (t) => {
  if (!requireChromium(t)) return;
  const echo = await startUdpEcho(t, 'e');
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': `entryPoints:
  traefik: {address: "127.0.0.1:0"}
  dns: {address: "127.0.0.1:0/udp"}
api: {}
providers:
  file: {filename: dynamic.yaml}
`,
    'dynamic.yaml': `udp:
  routers:
    dns: {entryPoints: [dns], service: echo}
    broken: {entryPoints: [dns], service: nowhere}
  services:
    echo: {loadBalancer: {servers: [{address: "127.0.0.1:${echo.port}"}]}}
`,
  });
  const browser = await startChromium();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();
  await page.goto(`http://127.0.0.1:${portier.gateway.port('traefik')}/dashboard/`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  const rows: [string, RegExp, string][] = [
    ['#udp-routers tr[data-udp-router="dns@file"]', /dns@file[\s\S]*dns[\s\S]*echo@file[\s\S]*0 sessions/, 'enabled'],
    ['#udp-routers tr[data-udp-router="broken@file"]', /broken@file[\s\S]*service nowhere@file does not exist/, 'disabled'],
    ['#udp-services tr[data-udp-service="echo@file"]', new RegExp(`echo@file[\\s\\S]*loadbalancer[\\s\\S]*UP[\\s\\S]*127\\.0\\.0\\.1:${echo.port}[\\s\\S]*dns@file`), 'enabled'],
  ];
  for (const [selector, text, status] of rows) {
    const row = page.locator(selector);
    await row.waitFor({ timeout: 20_000 });
    t.match(await row.innerText(), text, selector);
    t.equal(await row.getAttribute('data-status'), status, `${selector}: ${status}`);
  }
  t.match(await page.locator('[data-card="udp-routers"]').innerText(), /UDP routers\s*2\s*0 warnings · 1 errors/, 'overview card');
});
