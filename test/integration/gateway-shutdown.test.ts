import t from 'tap';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

t.test('requestAcceptGraceTimeout keeps accepting new requests for a while after stop begins, then refuses', async (t) => {
  const echo = await startEchoBackend();
  const gw = await startTestGateway(
    { http: { routers: { r: { rule: 'Host(`grace.localhost`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: echo.url }] } } } } },
    { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport: { lifeCycle: { requestAcceptGraceTimeout: '600ms', graceTimeOut: '1s' } } } } } },
  );
  t.teardown(() => echo.close());
  const closing = gw.close();
  await new Promise((r) => setTimeout(r, 200));
  t.equal((await request(gw.url, { host: 'grace.localhost' })).status, 200, 'a new request during the accept grace period is served');
  await closing;
  const after = await request(gw.url, { host: 'grace.localhost' }).then(
    (r) => `status ${r.status}`,
    (e: NodeJS.ErrnoException) => e.code,
  );
  t.equal(after, 'ECONNREFUSED', 'after the stop, connections are refused');
});
