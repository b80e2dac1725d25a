import t from 'tap';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { requireChromium, startChromium } from '../helpers/chromium';

/** A browser negotiates HTTP/2 with the gateway over HTTPS (ALPN h2), as with Traefik, Caddy and nginx. */
if (requireChromium(t)) {
  t.test('Chromium loads a page over HTTPS in HTTP/2', async (t) => {
    const echo = await startEchoBackend();
    t.teardown(() => echo.close());
    const gw = await startTestGateway({
      http: { routers: { page: { rule: 'Host(`page.localhost`)', service: 'page', tls: {} } }, services: { page: { loadBalancer: { servers: [{ url: echo.url }] } } } },
    });
    t.teardown(() => gw.close());
    const browser = await startChromium({ ignoreHTTPSErrors: true });
    t.teardown(() => browser.close());
    const page = await browser.context.newPage();
    const res = await page.goto(`https://page.localhost:${gw.port}/hello`, { timeout: 30_000 });
    t.equal(res?.status(), 200, 'the page loads');
    const protocol = await page.evaluate(() => (performance.getEntries()[0] as PerformanceNavigationTiming).nextHopProtocol);
    t.equal(protocol, 'h2', 'nextHopProtocol is h2');
  });
}
