import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type tls from 'node:tls';
import { startPortierFromFiles } from '../helpers/portier';
import { handshake } from '../helpers/tls-clients';

/**
 * `tls.options.default` from the file provider reaches the HTTPS listener:
 * protocol versions, cipher suites and sniStrict decide real handshakes,
 * and a reload changes them on the running listener.
 */
const portierYaml = `entryPoints:
  websecure:
    address: 127.0.0.1:0
providers:
  file:
    filename: dynamic.yaml
    watch: true
dataDir: ./data
`;
const dynamic = (options: string): string => `http:
  routers:
    app:
      rule: Host(\`app.localhost\`)
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
tls:
  options:
    default:
${options}
`;

interface Probe {
  sni?: string;
  client: tls.ConnectionOptions;
  ok: boolean;
  why: string;
}

const TLS12: tls.ConnectionOptions = { maxVersion: 'TLSv1.2' };
const TLS13: tls.ConnectionOptions = { minVersion: 'TLSv1.3' };

const cases: { name: string; options: string; probes: Probe[] }[] = [
  {
    name: 'minVersion VersionTLS13',
    options: '      minVersion: VersionTLS13',
    probes: [
      { sni: 'app.localhost', client: TLS12, ok: false, why: 'a TLS 1.2 client is refused' },
      { sni: 'app.localhost', client: TLS13, ok: true, why: 'TLS 1.3 is served' },
    ],
  },
  {
    name: 'maxVersion VersionTLS12 and one cipher suite',
    options: '      maxVersion: VersionTLS12\n      cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]',
    probes: [
      { sni: 'app.localhost', client: TLS13, ok: false, why: 'a TLS 1.3-only client is refused' },
      { sni: 'app.localhost', client: { ...TLS12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, ok: false, why: 'a cipher outside the list is refused' },
      { sni: 'app.localhost', client: { ...TLS12, ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }, ok: true, why: 'the listed cipher is served' },
    ],
  },
  {
    name: 'sniStrict',
    options: '      sniStrict: true',
    probes: [
      { sni: 'app.localhost', client: {}, ok: true, why: 'a known name is served' },
      { sni: 'unknown.example', client: {}, ok: false, why: 'an unknown name gets no handshake' },
      { client: {}, ok: false, why: 'a client without SNI gets no handshake (no default certificate)' },
    ],
  },
];

for (const c of cases) {
  t.test(`tls.options.default ${c.name}`, async (t) => {
    const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic(c.options) });
    const port = portier.gateway.port('websecure');
    for (const p of c.probes) {
      const h = await handshake(port, p.sni, p.client);
      t.equal(h.ok, p.ok, `${p.sni ?? '(no SNI)'}: ${p.why}${h.ok ? '' : ` (${h.error})`}`);
    }
  });
}

t.test('a reload changes the running listener', async (t) => {
  const { portier, dir } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic('      minVersion: VersionTLS12') });
  const port = portier.gateway.port('websecure');
  t.ok((await handshake(port, 'app.localhost', TLS12)).ok, 'TLS 1.2 is served');
  writeFileSync(join(dir, 'dynamic.yaml'), dynamic('      minVersion: VersionTLS13'));
  const deadline = Date.now() + 5000;
  let refused = false;
  while (!refused && Date.now() < deadline) {
    refused = !(await handshake(port, 'app.localhost', TLS12)).ok;
    if (!refused) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(refused, 'after the file changes to VersionTLS13, a TLS 1.2 client is refused');
  t.ok((await handshake(port, 'app.localhost', TLS13)).ok, 'and TLS 1.3 still served');
});
