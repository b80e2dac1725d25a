/**
 * The dashboard's ACME cluster section: two instances sharing one Redis
 * store (docs/acme-cluster.md) each see both, from the store.
 */
import t from 'tap';
import { requireChromium, startChromium } from '../helpers/chromium';
import { startPortierFromFiles } from '../helpers/portier';
import { requireStore, startRedis } from '../helpers/kv-stores';

t.test('dashboard: the instances sharing an ACME store, each once', async (t) => {
  if (!requireChromium(t) || !requireStore(t, 'redis')) return;
  const redis = await startRedis(t);
  const files = {
    'portier.yaml': `entryPoints:
  traefik: {address: "127.0.0.1:0"}
  web: {address: "127.0.0.1:0"}
api: {}
certificatesResolvers:
  le:
    acme:
      email: ops@example.test
      caServer: https://127.0.0.1:9/directory
      storage: redis://${redis.endpoint}/portier/acme?lease=1s
      httpChallenge: {entryPoint: web}
`,
  };
  const a = await startPortierFromFiles(t, files);
  await startPortierFromFiles(t, files);
  // Each instance reads the registrations back from the store once per lease/3.
  const deadline = Date.now() + 15_000;
  while ((a.portier.tls.cluster()[0]?.instances.length ?? 0) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const browser = await startChromium();
  t.teardown(() => browser.close());
  const page = await browser.context.newPage();
  await page.goto(`http://127.0.0.1:${a.portier.gateway.port('traefik')}/dashboard/`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  const section = page.locator('#cluster-section');
  await section.waitFor({ state: 'visible', timeout: 20_000 });
  const ids = a.portier.tls.cluster()[0]?.instances.map((i) => i.id) ?? [];
  await page.locator('#cluster tr[data-instance]').nth(1).waitFor({ timeout: 20_000 });
  const shown = await page.locator('#cluster tr[data-instance]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-instance')));
  t.equal(shown.length, 2, 'two instances listed');
  t.same([...shown].sort(), [...ids].sort(), 'the ones the store holds');
  t.match(await page.locator('#cluster').innerText(), new RegExp(`redis://${redis.endpoint.replace(/\./g, '\\.')}/portier/acme`), 'with the store address');
});
