import t from 'tap';

import tls from 'node:tls';
import { join } from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { startGreeter, startTlsGreeter, talk } from '../helpers/tcp-peers';
import { deadPort } from '../helpers/dead-peers';
import { LocalCa } from '../../src/tls/local-ca';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * TCP routers on real sockets: plaintext HostSNI(`*`), TLS ended by
 * Portier by SNI (certificates from its local CA), TLS passed through to a
 * server whose own certificate the client sees, half-close, and a refusing
 * server ejected. Portier is started whole from its files.
 */
const other = new LocalCa({ dataDir: mkdtempSync(join(tmpdir(), 'portier-ca-')) });
const backendCert = other.issue('pass.test');

t.test('TCP routers beside HTTP on shared entrypoints', async (t) => {
  const [alpha, beta, plain, passPort, dead] = await Promise.all([
    startGreeter(t, 'alpha'), startGreeter(t, 'beta'), startGreeter(t, 'plain'),
    startTlsGreeter(t, 'passed', { cert: backendCert.certPem, key: backendCert.keyPem }), deadPort(),
  ]);
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': [
      'dataDir: ./data',
      'entryPoints:',
      '  tls: { address: "127.0.0.1:0" }',
      '  raw: { address: "127.0.0.1:0" }',
      '  traefik: { address: "127.0.0.1:0" }',
      'api: {}',
      'metrics: { prometheus: { entryPoint: traefik } }',
      'providers:',
      '  file: { filename: dynamic.yaml }',
    ].join('\n'),
    'dynamic.yaml': `
tcp:
  routers:
    alpha: { entryPoints: [tls], rule: "HostSNI(\`alpha.test\`)", service: alpha, tls: { certResolver: local } }
    beta: { entryPoints: [tls], rule: "HostSNI(\`beta.test\`)", service: beta, tls: { certResolver: local } }
    pass: { entryPoints: [tls], rule: "HostSNI(\`pass.test\`)", service: pass, tls: { passthrough: true } }
    plain: { entryPoints: [raw], rule: "HostSNI(\`*\`)", service: flaky }
    nosni: { entryPoints: [tls], rule: "HostSNI(\`x.test\`)", service: alpha }
    httpish: { entryPoints: [tls], rule: "Host(\`x.test\`)", service: alpha, tls: {} }
  services:
    alpha: { loadBalancer: { servers: [{ address: "127.0.0.1:${alpha}" }], serversTransport: slow } }
    beta: { loadBalancer: { servers: [{ address: "127.0.0.1:${beta}" }], serversTransport: slow } }
    pass: { loadBalancer: { servers: [{ address: "127.0.0.1:${passPort}" }] } }
    flaky: { loadBalancer: { servers: [{ address: "127.0.0.1:${dead}" }, { address: "127.0.0.1:${plain}" }], serversTransport: slow } }
  serversTransports:
    slow: { terminationDelay: "5s" }
`,
  });
  const gw = portier.gateway;
  const root = portier.tls.localCa()!.rootPem();
  const tlsPort = gw.port('tls');
  const rawPort = gw.port('raw');

  const tlsTalk = (servername: string, ca: string, send = 'hello\n'): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({ port: tlsPort, host: '127.0.0.1', servername, ca });
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('error', reject);
      s.on('secureConnect', () => {
        s.write(send);
        s.end();
      });
      s.on('close', () => resolve(text));
    });

  for (const [name, sni] of [['alpha', 'alpha.test'], ['beta', 'beta.test']]) {
    const got = await tlsTalk(sni, root);
    t.equal(got, `${name}\n${name}: hello\n${name} bye\n`, `${sni}: TLS ended by Portier, the cleartext relayed, the half-close answered`);
  }
  const passed = await tlsTalk('pass.test', other.rootPem(), '');
  t.match(passed, /^passed over TLSv1\.3/, 'passthrough: the client shook hands with the backend itself (its certificate, from another CA)');

  // The first of the two servers refuses: that connection is closed, and the next reach the other one.
  const results: string[] = [];
  for (let i = 0; i < 3; i++) results.push(await talk(rawPort, { send: 'x\n', halfClose: true }).catch((e: Error) => `error ${e.message}`));
  t.ok(results.filter((r) => r.startsWith('plain\n')).length >= 2, `a refusing server is ejected: ${JSON.stringify(results)}`);
  t.equal(results[results.length - 1], 'plain\nplain: x\nplain bye\n', 'plaintext HostSNI(`*`): greeted first, echoed, half-close relayed both ways');

  const api = async (path: string): Promise<unknown> => (await fetch(`http://127.0.0.1:${gw.port('traefik')}${path}`)).json();
  const routers = (await api('/api/tcp/routers')) as { name: string; status: string; error?: string[]; tls?: unknown }[];
  const byName = new Map(routers.map((r) => [r.name, r]));
  t.match(byName.get('nosni@file'), { status: 'disabled', error: [/needs tls on the router/] }, 'API: HostSNI with a name on a router without tls is an error on it');
  t.match(byName.get('httpish@file'), { status: 'disabled', error: [/Host is an HTTP matcher/] }, 'API: an HTTP matcher on a TCP router is an error on it');
  t.match(byName.get('pass@file'), { status: 'enabled', tls: { passthrough: true } }, 'API: the passthrough router is enabled');
  t.match(await api('/api/tcp/services/flaky@file'), { status: 'enabled', usedBy: ['plain@file'], serverStatus: { [`127.0.0.1:${dead}`]: 'DOWN', [`127.0.0.1:${plain}`]: 'UP' } }, 'API: the refusing server shows DOWN while ejected');
  const metrics = await (await fetch(`http://127.0.0.1:${gw.port('traefik')}/metrics`)).text();
  const value = (line: RegExp): number => Number(line.exec(metrics)?.[1] ?? NaN);
  t.equal(value(/^portier_tcp_router_bytes_in_total\{router="alpha@file"\} (\d+)$/m), 'hello\n'.length, 'metrics: bytes from the client on a TCP router');
  t.equal(value(/^portier_tcp_router_bytes_out_total\{router="alpha@file"\} (\d+)$/m), 'alpha\nalpha: hello\nalpha bye\n'.length, 'metrics: bytes to the client');
  t.equal(value(/^portier_tcp_router_open_connections\{router="plain@file"\} (\d+)$/m), 0, 'metrics: no connection left open');
  t.match(metrics, /^portier_open_connections\{entrypoint="raw",protocol="tcp"\} 0$/m, 'metrics: per entrypoint, protocol tcp');
  t.match(await api('/api/explain?url=tls://alpha.test&entrypoint=tls'), { tcp: { sni: 'alpha.test', tls: true, match: { router: 'alpha@file', tls: 'terminate', lines: ['✓ HostSNI(`alpha.test`)'], servers: [`127.0.0.1:${alpha}`] } } }, 'explain: the TCP router an SNI reaches');
  const nobody = (await api('/api/explain?url=tls://nobody.test&entrypoint=tls')) as { tcp: { match?: unknown; misses: { router: string; lines: string[] }[] } };
  t.equal(nobody.tcp.match, undefined, 'explain: no TCP router takes another name');
  t.same(nobody.tcp.misses.find((m) => m.router === 'pass@file')?.lines, ['✗ HostSNI(`pass.test`): SNI is "nobody.test"'], 'explain: each TCP router says why not');
  t.match(await api('/api/overview'), { tcp: { routers: { total: 6, errors: 2 }, services: { total: 4 } } }, 'API overview counts TCP objects');
});
