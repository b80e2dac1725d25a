import t from 'tap';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway';
import { request } from '../helpers/http';

/**
 * Upstream HTTP/2 sessions (docs/grpc.md, "Sessions") against a Node
 * HTTP/2 server that allows 2 streams per session: more concurrent
 * requests open more sessions, a GOAWAY sends the next request to a new
 * session, an idle session is closed after idleConnTimeout.
 */
t.test('sessions: stream limit, GOAWAY, idle close', async (t) => {
  const sessions = new Set<http2.ServerHttp2Session>();
  let opened = 0;
  const server = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
  server.on('session', (s: http2.ServerHttp2Session) => {
    opened++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    const answer = (): void => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end(String(path));
      if (path === '/goaway') stream.session?.goaway();
    };
    if (path === '/slow') setTimeout(answer, 300);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sessions) s.destroy();
    server.close();
  });
  const url = `h2c://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const gw = await startTestGateway({
    http: {
      routers: { r: { rule: 'Host(`h2.localhost`)', service: 's' } },
      services: { s: { loadBalancer: { servers: [{ url }], serversTransport: 'short' } } },
      serversTransports: { short: { forwardingTimeouts: { idleConnTimeout: '300ms' } } },
    },
  });
  t.teardown(() => gw.close());
  const get = (path: string): Promise<number> => request(`${gw.url}${path}`, { host: 'h2.localhost' }).then((r) => r.status);

  const statuses = await Promise.all(Array.from({ length: 6 }, () => get('/slow')));
  t.same(statuses, [200, 200, 200, 200, 200, 200], 'six concurrent requests answered');
  t.ok(opened >= 3, `the 2-stream limit honoured: ${opened} sessions for 6 concurrent streams`);

  let closedAll = false;
  for (let i = 0; i < 100 && !closedAll; i++) {
    await new Promise((r) => setTimeout(r, 50));
    closedAll = sessions.size === 0;
  }
  t.ok(closedAll, 'idle sessions closed after idleConnTimeout');

  const before = opened;
  t.equal(await get('/goaway'), 200, 'the request that brought GOAWAY is answered');
  t.equal(opened, before + 1, 'on a session of its own (the others closed idle)');
  t.equal(await get('/after'), 200, 'the next one too');
  t.equal(opened, before + 2, 'on a new session: the one that got GOAWAY takes no new stream');
});
