import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';
import { deadPort } from '../helpers/dead-peers';


t.test('upstream failures map to 404/502/503/504 with a short body', async (t) => {
  const slow = await startEchoBackend('slow', (req, res) => {
    setTimeout(() => res.end('late'), 2000).unref();
    return true;
  });
  const dead = await deadPort();
  const gw = await startTestGateway({
    http: {
      routers: {
        refused: { rule: 'Host(`refused.localhost`)', service: 'refused' },
        empty: { rule: 'Host(`empty.localhost`)', service: 'empty' },
        slow: { rule: 'Host(`slow.localhost`)', service: 'slow' },
      },
      services: {
        refused: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${dead}` }] } },
        empty: { loadBalancer: { servers: [] } },
        slow: { loadBalancer: { servers: [{ url: slow.url }], serversTransport: 'quick' } },
      },
      serversTransports: { quick: { forwardingTimeouts: { responseHeaderTimeout: '200ms' } } },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await slow.close();
  });
  const cases: [string, number, RegExp][] = [
    ['nobody.test', 404, /^404 page not found\n$/],
    ['refused.localhost', 502, /^Bad Gateway\n$/],
    ['empty.localhost', 503, /^Service Unavailable\n$/],
    ['slow.localhost', 504, /^Gateway Timeout\n$/],
  ];
  for (const [host, status, body] of cases) {
    const r = await request(gw.url, { host });
    t.equal(r.status, status, `${host} → ${status}`);
    t.match(r.body, body);
  }
  t.equal(gw.router('empty')!.status, 'enabled', 'a service without servers keeps its router');
  t.match(gw.gateway.table.services.get('empty@file')!.warnings, [/no server/]);
});

t.test('X-Forwarded-* from an untrusted peer are replaced; a trusted peer keeps them', async (t) => {
  const echo = await startEchoBackend();
  const dynamic = {
    http: { routers: { r: { rule: 'Host(`xff.localhost`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: echo.url }] } } } },
  };
  const untrusted = await startTestGateway(dynamic);
  const trusted = await startTestGateway(dynamic, { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', forwardedHeaders: { trustedIPs: ['127.0.0.0/8'] } } } } });
  t.teardown(async () => {
    await untrusted.close();
    await trusted.close();
    await echo.close();
  });
  const spoof = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', 'x-real-ip': '6.6.6.6', 'x-forwarded-proto': 'https' };
  const cases = [
    { name: 'untrusted', gw: untrusted, xff: '127.0.0.1', realIp: '127.0.0.1', fhost: 'xff.localhost', proto: 'http' },
    { name: 'trusted', gw: trusted, xff: '6.6.6.6, 127.0.0.1', realIp: '6.6.6.6', fhost: 'evil.example', proto: 'https' },
  ];
  for (const c of cases) {
    const r = await request(c.gw.url, { host: 'xff.localhost', headers: spoof });
    const seen = JSON.parse(r.body).headers;
    t.equal(seen['x-forwarded-for'], c.xff, `${c.name}: X-Forwarded-For`);
    t.equal(seen['x-real-ip'], c.realIp, `${c.name}: X-Real-Ip`);
    t.equal(seen['x-forwarded-host'], c.fhost, `${c.name}: X-Forwarded-Host`);
    t.equal(seen['x-forwarded-proto'], c.proto, `${c.name}: X-Forwarded-Proto`);
  }
  const stripped = await request(untrusted.url, { host: 'xff.localhost', headers: { connection: 'x-forwarded-for, x-real-ip', 'keep-alive': 'timeout=5' } });
  const seen = JSON.parse(stripped.body).headers;
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'naming X-Forwarded-For in Connection cannot remove it');
  t.equal(seen['keep-alive'], undefined, 'hop-by-hop headers are not forwarded');
});

t.test('a backend that resets mid-response aborts that response only', async (t) => {
  const broken = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': '100000' });
    res.write('x'.repeat(1000), () => req.socket.destroy());
  });
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
  const echo = await startEchoBackend();
  const gw = await startTestGateway({
    http: {
      routers: { broken: { rule: 'Host(`broken.localhost`)', service: 'broken' }, ok: { rule: 'Host(`ok.localhost`)', service: 'ok' } },
      services: {
        broken: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${(broken.address() as AddressInfo).port}` }] } },
        ok: { loadBalancer: { servers: [{ url: echo.url }] } },
      },
    },
  });
  t.teardown(async () => {
    await gw.close();
    await echo.close();
    broken.closeAllConnections();
    await new Promise((r) => broken.close(r));
  });
  for (let i = 0; i < 5; i++) {
    const outcome = await request(gw.url, { host: 'broken.localhost', timeoutMs: 3000 }).then(
      (r) => `complete ${r.body.length}`,
      (e: NodeJS.ErrnoException) => `aborted ${e.code ?? e.message}`,
    );
    t.match(outcome, /^aborted (ECONNRESET|aborted)/, `truncated response is aborted at once, not ended cleanly (${outcome})`);
  }
  t.equal((await request(gw.url, { host: 'ok.localhost' })).status, 200, 'the gateway still serves');
});

t.test('WebSocket upgrade is proxied and echoes', async (t) => {
  const wsServer = http.createServer();
  wsServer.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((r) => wsServer.listen(0, '127.0.0.1', r));
  const gw = await startTestGateway({
    http: {
      routers: { ws: { rule: 'Host(`ws.localhost`)', service: 'ws' } },
      services: { ws: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${(wsServer.address() as AddressInfo).port}` }] } } },
    },
  });
  t.teardown(async () => {
    await gw.close();
    wsServer.closeAllConnections();
    await new Promise((r) => wsServer.close(r));
  });
  const key = Buffer.from('0123456789abcdef').toString('base64');
  const echoed = await new Promise<string>((resolve, reject) => {
    const req = http.request(gw.url, {
      headers: { host: 'ws.localhost', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
    });
    req.on('upgrade', (res, socket) => {
      t.equal(res.statusCode, 101);
      t.equal(res.headers['sec-websocket-accept'], createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
      socket.write('hello through portier');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString());
      });
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  t.equal(echoed, 'hello through portier');
  const missing = await request(gw.url, { host: 'nows.localhost', headers: { connection: 'Upgrade', upgrade: 'websocket' } }).catch((e: Error) => e);
  t.equal((missing as { status?: number }).status, 404, 'an upgrade without a router gets 404');
});

t.test('a client that goes away tears down its upstream request', async (t) => {
  let upstreamClosed = 0;
  const slow = await startEchoBackend('slow', (req, res) => {
    res.on('close', () => upstreamClosed++);
    setTimeout(() => res.end('late'), 5000).unref();
    return true;
  });
  const gw = await startTestGateway({
    http: { routers: { s: { rule: 'Host(`abort.localhost`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: slow.url }] } } } },
  });
  t.teardown(async () => {
    await gw.close();
    await slow.close();
  });
  for (let i = 0; i < 5; i++) {
    const socket = net.connect(gw.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nHost: abort.localhost\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
  }
  const start = Date.now();
  while (upstreamClosed < 5 && Date.now() - start < 3000) await new Promise((r) => setTimeout(r, 20));
  t.equal(upstreamClosed, 5, `every upstream request closed ${Date.now() - start} ms after its client left, long before the backend answered`);
});
