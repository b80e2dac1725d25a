import t from 'tap';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { startGreeter, startTlsGreeter, talk } from '../helpers/tcp-peers';
import { deadPort } from '../helpers/dead-peers';
import { LocalCa } from '../../src/tls/local-ca';

/**
 * TCP services on real sockets: a weighted service splits connections by
 * weight, a server with `tls` is spoken to over TLS verified against the
 * serversTransport's rootCAs, and a health check marks a server DOWN until
 * it listens, then UP.
 */
const caDir = mkdtempSync(join(tmpdir(), 'portier-upstream-ca-'));
const ca = new LocalCa({ dataDir: caDir });
const cert = ca.issue('inner.test');
const caFile = join(caDir, 'root.pem');
writeFileSync(caFile, ca.rootPem());

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('TCP services', async (t) => {
  const [heavy, light, secure, later] = await Promise.all([startGreeter(t, 'heavy'), startGreeter(t, 'light'), startTlsGreeter(t, 'inner', { cert: cert.certPem, key: cert.keyPem }), deadPort()]);
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': 'entryPoints:\n  w: { address: "127.0.0.1:0" }\n  s: { address: "127.0.0.1:0" }\n  h: { address: "127.0.0.1:0" }\nproviders:\n  file: { filename: dynamic.yaml }\n',
    'dynamic.yaml': `
tcp:
  routers:
    w: { entryPoints: [w], rule: "HostSNI(\`*\`)", service: split }
    s: { entryPoints: [s], rule: "HostSNI(\`*\`)", service: secure }
    h: { entryPoints: [h], rule: "HostSNI(\`*\`)", service: checked }
  services:
    split: { weighted: { services: [{ name: heavy, weight: 3 }, { name: light, weight: 1 }] } }
    heavy: { loadBalancer: { servers: [{ address: "127.0.0.1:${heavy}" }] } }
    light: { loadBalancer: { servers: [{ address: "127.0.0.1:${light}" }] } }
    secure: { loadBalancer: { servers: [{ address: "127.0.0.1:${secure}", tls: true }], serversTransport: inner } }
    checked: { loadBalancer: { servers: [{ address: "127.0.0.1:${later}" }], healthCheck: { interval: 200ms, timeout: 1s } } }
  serversTransports:
    inner: { tls: { serverName: inner.test, rootCAs: ["${caFile}"] } }
`,
  });
  const gw = portier.gateway;

  const seen: string[] = [];
  for (let i = 0; i < 8; i++) seen.push((await talk(gw.port('w'), { halfClose: true })).split('\n')[0]);
  t.same([seen.filter((s) => s === 'heavy').length, seen.filter((s) => s === 'light').length], [6, 2], `weights 3:1 over 8 connections: ${seen.join(' ')}`);

  t.equal(await talk(gw.port('s')), 'inner over TLSv1.3\n', 'a server with tls: Portier speaks TLS to it, verified by the serversTransport\'s rootCAs and serverName');

  const status = (): string | undefined => gw.table.tcp?.services.get('checked@file')?.serverStatus()[`127.0.0.1:${later}`];
  await until('the health check to mark the server DOWN', () => status() === 'DOWN');
  t.pass('a server that does not listen is DOWN');
  const srv = net.createServer((s) => {
    // The health check's own connections close at once.
    s.on('error', () => undefined);
    s.end('up\n');
  });
  await new Promise<void>((r) => srv.listen(later, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => srv.close(() => r(undefined))));
  await until('the health check to mark the server UP', () => status() === 'UP');
  t.equal(await talk(gw.port('h')), 'up\n', 'once it listens it is UP and served');
});
