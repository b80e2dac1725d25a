import t from 'tap';
import https from 'node:https';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ServersTransportConfig } from '../../src/dynamic/model';
import { LocalCa } from '../../src/tls/local-ca';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';

interface Backend {
  url: string;
  /** Request paths it answered: a health check that got through left its path here. */
  seen: string[];
  /** TLS connections it accepted, and how many are open now. */
  handshakes: number;
  open(): Promise<number>;
  close(): Promise<void>;
}

/** An https server on 127.0.0.1: `/auth` allows (forwardAuth), anything else answers 200; WebSockets echo. */
async function tlsBackend(options: https.ServerOptions): Promise<Backend> {
  const seen: string[] = [];
  const server = https.createServer(options, (req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('tls ok');
  });
  server.keepAliveTimeout = 60_000;
  server.on('upgrade', (req, socket) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => socket.destroy());
  });
  const backend: Backend = {
    url: '',
    seen,
    handshakes: 0,
    open: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('secureConnection', () => backend.handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.url = `https://localhost:${(server.address() as AddressInfo).port}`;
  return backend;
}

/** A self-signed client certificate for TLS client authentication (the in-process CA only makes server certificates). */
function clientCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'client.crt');
  const keyFile = join(dir, 'client.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=portier-client', '-addext', 'extendedKeyUsage=clientAuth', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { certFile, keyFile };
}

function websocket(url: string, host: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(url, { headers: { host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } });
    req.on('upgrade', (_res, socket) => {
      socket.write('ping');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(`101 echo=${d}`);
      });
    });
    req.on('response', (res) => resolve(String(res.statusCode)));
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}

async function until(done: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 25));
}

/**
 * One transport per serversTransport, used by everything that talks to a
 * service's servers: forwarding, WebSocket upgrades and health checks agree
 * on every TLS setting, and forwardAuth's `tls` makes the same kind of
 * transport. Real TLS: a private CA and a client certificate made here.
 */
t.test('forwarding, WebSocket upgrades, health checks and forwardAuth share TLS settings', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-transport-'));
  const ca = new LocalCa({ dataDir: dir });
  const leaf = ca.issue('localhost');
  const client = clientCertificate(dir);
  const plain = await tlsBackend({ key: leaf.keyPem, cert: leaf.certPem });
  const mutual = await tlsBackend({ key: leaf.keyPem, cert: leaf.certPem, requestCert: true, rejectUnauthorized: true, ca: readFileSync(client.certFile) });
  const echo = await startEchoBackend('echo');

  interface Trust {
    name: string;
    backend: Backend;
    /** The services' serversTransport; none: the static default. */
    transport?: ServersTransportConfig;
    /** forwardAuth's `tls`, and the host name of its address. */
    auth: Record<string, unknown>;
    authHost?: string;
    works: boolean;
    why: string;
  }
  const trusts: Trust[] = [
    { name: 'untrusted', backend: plain, auth: {}, works: false, why: 'a certificate from an unknown CA is refused' },
    { name: 'rootcas', backend: plain, transport: { rootCAs: [ca.certFile] }, auth: { ca: ca.certFile }, works: true, why: 'trusted through rootCAs / tls.ca' },
    { name: 'insecure', backend: plain, transport: { insecureSkipVerify: true }, auth: { insecureSkipVerify: true }, works: true, why: 'insecureSkipVerify skips the check' },
    {
      name: 'wrongname', backend: plain, transport: { rootCAs: [ca.certFile], serverName: 'other.localhost' }, auth: { ca: ca.certFile }, authHost: '127.0.0.1', works: false,
      why: 'a trusted CA, but the certificate does not carry the name checked (serverName; forwardAuth: its address)',
    },
    {
      name: 'clientcert', backend: mutual, transport: { rootCAs: [ca.certFile], certificates: [client] }, auth: { ca: ca.certFile, cert: client.certFile, key: client.keyFile }, works: true,
      why: 'a server that requires a client certificate gets it',
    },
    { name: 'noclientcert', backend: mutual, transport: { rootCAs: [ca.certFile] }, auth: { ca: ca.certFile }, works: false, why: 'a server that requires a client certificate refuses a client without one' },
  ];

  const at = (b: Backend, host = 'localhost'): string => b.url.replace('localhost', host);
  const gw = await startTestGateway({
    http: {
      routers: Object.fromEntries(trusts.flatMap((c) => [
        [`fwd-${c.name}`, { rule: `Host(\`fwd-${c.name}.test\`)`, service: `fwd-${c.name}` }],
        [`fa-${c.name}`, { rule: `Host(\`fa-${c.name}.test\`)`, middlewares: [`auth-${c.name}`], service: 'echo' }],
      ])),
      services: {
        echo: { loadBalancer: { servers: [{ url: echo.url }] } },
        ...Object.fromEntries(trusts.flatMap((c) => {
          const serversTransport = c.transport ? c.name : undefined;
          const servers = [{ url: c.backend.url }];
          return [
            [`fwd-${c.name}`, { loadBalancer: { servers, serversTransport } }],
            [`hc-${c.name}`, { loadBalancer: { servers, serversTransport, healthCheck: { path: `/health/${c.name}`, interval: '100ms', timeout: '2s' } } }],
          ];
        })),
      },
      middlewares: Object.fromEntries(trusts.map((c) => [`auth-${c.name}`, { forwardAuth: { address: `${at(c.backend, c.authHost)}/auth`, tls: c.auth } }])),
      serversTransports: Object.fromEntries(trusts.flatMap((c) => (c.transport ? [[c.name, c.transport]] : []))),
    },
  });
  t.teardown(async () => {
    await gw.close();
    await Promise.all([plain.close(), mutual.close(), echo.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const healthOf = (c: Trust): string => Object.values(gw.gateway.table.services.get(`hc-${c.name}@file`)?.serverStatus() ?? {}).join() || 'missing';
  const users = [
    { name: 'forwarding', ok: '200', refused: '502', run: async (c: Trust) => String((await request(`${gw.url}/x`, { host: `fwd-${c.name}.test` })).status) },
    { name: 'WebSocket upgrade', ok: '101 echo=ping', refused: '502', run: (c: Trust) => websocket(gw.url, `fwd-${c.name}.test`) },
    {
      name: 'health check', ok: 'UP', refused: 'DOWN',
      run: async (c: Trust) => {
        // Until a check got through to the server or one failed (a server starts UP).
        await until(() => c.backend.seen.includes(`/health/${c.name}`) || healthOf(c) === 'DOWN', 5_000);
        return healthOf(c);
      },
    },
    {
      name: 'forwardAuth', ok: '200', refused: '500',
      run: async (c: Trust) => {
        const r = await request(`${gw.url}/p`, { host: `fa-${c.name}.test` });
        return r.status === 200 && r.headers['x-backend'] !== 'echo' ? 'not forwarded' : String(r.status);
      },
    },
  ];
  for (const c of trusts.flatMap((trust) => users.map((user) => ({ trust, user })))) {
    t.equal(await c.user.run(c.trust), c.trust.works ? c.user.ok : c.user.refused, `${c.user.name}, ${c.trust.name}: ${c.trust.why}`);
  }
});

t.test('client certificate files are checked, errors name the field', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-transport-'));
  const ca = new LocalCa({ dataDir: dir });
  ca.issue('localhost');
  const client = clientCertificate(dir);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cases = [
    { name: 'nocert', certificates: [{ certFile: join(dir, 'missing.crt'), keyFile: client.keyFile }], error: /serversTransports\.nocert\.certificates\[0\]\.certFile: cannot read .*missing\.crt/ },
    { name: 'keyascert', certificates: [{ certFile: client.keyFile, keyFile: client.keyFile }], error: /serversTransports\.keyascert\.certificates\[0\]\.certFile: .*client\.key holds no PEM certificate/ },
    { name: 'otherkey', certificates: [client, { certFile: client.certFile, keyFile: ca.keyFile }], error: /serversTransports\.otherkey\.certificates\[1\]\.keyFile: .*root\.key is not the key of .*client\.crt/ },
  ];
  const gw = await startTestGateway({
    http: {
      services: Object.fromEntries(cases.map((c) => [c.name, { loadBalancer: { servers: [{ url: 'https://127.0.0.1:1' }], serversTransport: c.name } }])),
      serversTransports: Object.fromEntries(cases.map((c) => [c.name, { certificates: c.certificates }])),
    },
  });
  t.teardown(() => gw.close());
  for (const c of cases) t.match(gw.gateway.table.services.get(`${c.name}@file`)?.errors.join('\n'), c.error, c.name);
});

/**
 * Transports are made once per change of their serversTransport and kept
 * while unchanged, with their pooled connections; one no longer used
 * closes its idle connections.
 */
t.test('a transport lives while a configuration uses it', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-transport-'));
  const leaf = new LocalCa({ dataDir: dir }).issue('localhost');
  const backend = await tlsBackend({ key: leaf.keyPem, cert: leaf.certPem });
  const config = (transport: ServersTransportConfig, routers: string[]) => ({
    http: {
      routers: Object.fromEntries(routers.map((r) => [r, { rule: `Host(\`${r}.test\`)`, service: r }])),
      services: Object.fromEntries(routers.map((r) => [r, { loadBalancer: { servers: [{ url: backend.url }], serversTransport: 'shared' } }])),
      serversTransports: { shared: transport },
    },
  });
  const gw = await startTestGateway(config({ insecureSkipVerify: true }, ['a']));
  t.teardown(async () => {
    await gw.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const steps = [
    { what: 'the first request dials', transport: { insecureSkipVerify: true }, routers: ['a'], ask: 'a', handshakes: 1, open: 1 },
    { what: 'a new service on the unchanged transport reuses its pooled connection', transport: { insecureSkipVerify: true }, routers: ['a', 'b'], ask: 'b', handshakes: 1, open: 1 },
    { what: 'a changed transport dials anew; the old one closed its idle connection', transport: { insecureSkipVerify: true, maxIdleConnsPerHost: 8 }, routers: ['a', 'b'], ask: 'a', handshakes: 2, open: 1 },
  ];
  for (const s of steps) {
    await gw.update(config(s.transport, s.routers));
    t.equal((await request(`${gw.url}/`, { host: `${s.ask}.test` })).status, 200, `${s.what}: served`);
    let open = -1;
    for (const end = Date.now() + 2_000; open !== s.open && Date.now() < end; await new Promise((r) => setTimeout(r, 25))) open = await backend.open();
    t.same({ handshakes: backend.handshakes, open }, { handshakes: s.handshakes, open: s.open }, s.what);
  }
});

t.test('the static serversTransport: rootCAs and client certificates for every service that names no transport', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-static-transport-'));
  const ca = new LocalCa({ dataDir: dir });
  const leaf = ca.issue('localhost');
  const client = clientCertificate(dir);
  const mutual = await tlsBackend({ key: leaf.keyPem, cert: leaf.certPem, requestCert: true, rejectUnauthorized: true, ca: readFileSync(client.certFile) });
  t.teardown(async () => {
    await mutual.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const dynamic = {
    http: {
      routers: { app: { rule: 'Host(`app.test`)', service: 'app' } },
      services: { app: { loadBalancer: { servers: [{ url: mutual.url }] } } },
    },
  };
  const cases = [
    { name: 'CA and client certificate', transport: { rootCAs: [ca.certFile], certificates: [client] }, status: 200 },
    { name: 'CA only: the server wants a client certificate', transport: { rootCAs: [ca.certFile] }, status: 502 },
    { name: 'no CA: the server is not trusted', transport: { certificates: [client] }, status: 502 },
  ];
  for (const c of cases) {
    const gw = await startTestGateway(dynamic, { staticConfig: { serversTransport: c.transport } });
    t.equal((await request(`${gw.url}/`, { host: 'app.test' })).status, c.status, c.name);
    await gw.close();
  }
  await t.rejects(
    startTestGateway(dynamic, { staticConfig: { serversTransport: { rootCAs: [join(dir, 'missing.crt')] } } }),
    /serversTransport\.rootCAs\[0\]: .*missing\.crt/,
    'an unreadable file stops the start, naming the field',
  );
});
