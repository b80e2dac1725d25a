import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { requireChromium, startChromium } from '../helpers/chromium';

const run = promisify(execFile);

/** curl's view: status, content type and body of one request to 127.0.0.1 with `host`. */
async function curl(port: number, host: string, accept?: string): Promise<{ status: number; type: string; body: string }> {
  const args = ['-s', '-o', '-', '-w', '\n%{http_code} %{content_type}', '-H', `Host: ${host}`, ...(accept ? ['-H', `Accept: ${accept}`] : []), `http://127.0.0.1:${port}/some/path`];
  const { stdout } = await run('curl', args, { timeout: 20_000 });
  const cut = stdout.lastIndexOf('\n');
  const [status, type] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), type: type ?? '', body: stdout.slice(0, cut) };
}

const dynamic = (url: string) => ({
  http: {
    routers: {
      shop: { rule: 'Host(`web.shop.localhost`)', service: 'shop' },
      api: { rule: 'Host(`api.shop.localhost`) && PathPrefix(`/v1`)', service: 'shop' },
    },
    services: { shop: { loadBalancer: { servers: [{ url }] } } },
  },
});

t.test('an unknown *.localhost host gets the list of routes, only on loopback or in devMode', async (t) => {
  const echo = await startEchoBackend('shop');
  const gateways: Record<string, TestGateway> = {
    loopback: await startTestGateway(dynamic(echo.url)),
    public: await startTestGateway(dynamic(echo.url), { staticConfig: { entryPoints: { web: { address: ':0' } } } }),
    devMode: await startTestGateway(dynamic(echo.url), { staticConfig: { entryPoints: { web: { address: ':0' } }, devMode: true } }),
  };
  t.teardown(async () => {
    for (const gw of Object.values(gateways)) await gw.close();
    await echo.close();
  });
  const listing = (port: number) => new RegExp(`^No route for nope\\.localhost\\.\\n\\nPortier serves:\\n  http://api\\.shop\\.localhost:${port}/  ->  shop@file\\n  http://web\\.shop\\.localhost:${port}/  ->  shop@file\\n$`);
  const plain = /^404 page not found\n$/;
  const cases: { name: string; gw: string; host: string; accept?: string; type: RegExp; body: (port: number) => RegExp }[] = [
    { name: 'curl on a loopback entrypoint: plain text', gw: 'loopback', host: 'nope.localhost', type: /^text\/plain/, body: listing },
    { name: 'a browser on a loopback entrypoint: HTML', gw: 'loopback', host: 'nope.localhost', accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', type: /^text\/html/, body: (port) => new RegExp(`<h1>No route for <code>nope\\.localhost</code></h1>[\\s\\S]*<a href="http://web\\.shop\\.localhost:${port}/">`) },
    { name: 'the host is escaped in HTML', gw: 'loopback', host: 'a&b.localhost', accept: 'text/html', type: /^text\/html/, body: () => /No route for <code>a&#38;b\.localhost<\/code>/ },
    { name: 'bare localhost', gw: 'loopback', host: 'localhost:1234', type: /^text\/plain/, body: () => /^No route for localhost\.\n\nPortier serves:\n/ },
    { name: 'a known host on a path no router takes', gw: 'loopback', host: 'api.shop.localhost', type: /^text\/plain/, body: () => /^No route for api\.shop\.localhost\./ },
    { name: 'a name that is not local: the plain 404', gw: 'loopback', host: 'nope.example.com', accept: 'text/html', type: /^text\/plain/, body: () => plain },
    { name: 'an entrypoint on every interface: the plain 404', gw: 'public', host: 'nope.localhost', accept: 'text/html', type: /^text\/plain/, body: () => plain },
    { name: 'devMode: the list on every entrypoint', gw: 'devMode', host: 'nope.localhost', type: /^text\/plain/, body: listing },
  ];
  for (const c of cases) {
    const { port } = gateways[c.gw];
    const r = await curl(port, c.host, c.accept);
    t.equal(r.status, 404, `${c.name}: 404`);
    t.match(r.type, c.type, `${c.name}: content type`);
    t.match(r.body, c.body(port), `${c.name}: body`);
  }
  const routed = await curl(gateways.loopback.port, 'web.shop.localhost');
  t.equal(routed.status, 200, 'a known host is still routed');
});

t.test('Chromium shows the page with links that work', async (t) => {
  if (!requireChromium(t)) return;
  const echo = await startEchoBackend('shop');
  const gw = await startTestGateway(dynamic(echo.url));
  const browser = await startChromium();
  t.teardown(async () => {
    await browser.close();
    await gw.close();
    await echo.close();
  });
  const page = await browser.context.newPage();
  const res = await page.goto(`http://nope.localhost:${gw.port}/`, { timeout: 30_000 });
  t.equal(res?.status(), 404, 'the browser sees a 404');
  t.equal(await page.textContent('h1'), 'No route for nope.localhost');
  const links = await page.$$eval('li a', (as) => as.map((a) => (a as unknown as { href: string }).href));
  t.same(links, [`http://api.shop.localhost:${gw.port}/`, `http://web.shop.localhost:${gw.port}/`], 'every served URL is a link');
  await page.click(`a[href="http://web.shop.localhost:${gw.port}/"]`);
  await page.waitForLoadState('load');
  t.match(await page.textContent('body'), /"name":"shop"/, 'following a link reaches the service');
});
