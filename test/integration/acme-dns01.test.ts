/**
 * DNS-01 end to end with real components: BIND authoritative for a test
 * zone, accepting TSIG-signed updates; pebble resolving through it; Portier
 * publishing `_acme-challenge` records with its own RFC 2136 client, and
 * with the `exec` provider calling nsupdate. A wildcard certificate covers
 * two routers; the records are gone afterwards; a propagation check that
 * cannot succeed fails the order with a clear error and a retry time; a
 * resolver with an unknown provider leaves the gateway running with only
 * its routers in error.
 */
import t from 'tap';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFile } from 'node:child_process';
import * as acme from 'acme-client';
import { startPortierFromFiles } from '../helpers/portier';
import { requirePebble, startPebble } from '../helpers/pebble';
import { requireBind, startBind } from '../helpers/bind';
import { startEchoBackend } from '../helpers/echo';
import { httpsGet } from '../helpers/tls-clients';

Object.assign((acme.axios.defaults as unknown as { acmeSettings: object }).acmeSettings, { retryMaxAttempts: 1, retryDefaultDelay: 0.05 });

const ZONE = 'portier.test';

/** Runs a client without blocking the event loop (Portier runs in this process). */
function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 15_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
    child.stdin?.end();
  });
}

t.test('DNS-01 through BIND: wildcard and SAN certificates, exec provider, propagation failure, unknown provider', async (t) => {
  if (!requirePebble(t) || !requireBind(t)) return;
  const bind = await startBind(ZONE);
  t.teardown(() => bind.stop());
  const pebble = await startPebble({ dnsServer: `127.0.0.1:${bind.port}` });
  t.teardown(() => pebble.stop());
  const echo = await startEchoBackend('dns01-app');
  t.teardown(() => echo.close());
  // A resolver that never answers: the propagation check through it can only time out.
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => silent.close());

  const scripts = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-exec-'));
  t.teardown(() => fs.rmSync(scripts, { recursive: true, force: true }));
  const script = path.join(scripts, 'dns-hook.sh');
  fs.writeFileSync(
    script,
    `#!/bin/sh
set -e
if [ "$1" = present ]; then op="update add $2 5 TXT \\"$3\\""; else op="update delete $2 TXT \\"$3\\""; fi
printf 'server 127.0.0.1 ${bind.port}\\nzone ${ZONE}\\n%s\\nsend\\n' "$op" | nsupdate -k ${bind.keyFile}
echo "$1 $2" >> ${scripts}/calls.log
`,
    { mode: 0o755 },
  );
  Object.assign(process.env, {
    RFC2136_NAMESERVER: `127.0.0.1:${bind.port}`,
    RFC2136_TSIG_KEY: bind.keyName,
    RFC2136_TSIG_SECRET: bind.secret,
    RFC2136_TSIG_ALGORITHM: bind.algorithm,
    RFC2136_TTL: '5',
    RFC2136_PROPAGATION_TIMEOUT: '3',
    RFC2136_POLLING_INTERVAL: '1',
    EXEC_PATH: script,
    EXEC_POLLING_INTERVAL: '1',
  });

  const route = (name: string, resolver: string, domains = ''): string => `    ${name}:
      rule: Host(\`${name}.${ZONE}\`)
      service: app
      tls:
        certResolver: ${resolver}${domains}
`;
  const wildcard = `
        domains:
          - main: "*.${ZONE}"
            sans: [${ZONE}]`;
  const dynamic = `http:
  routers:
${route('a', 'dns', wildcard)}${route('b', 'dns', wildcard)}${route('hook', 'hook')}${route('slow', 'slow')}${route('broken', 'nosuch')}
  services:
    app:
      loadBalancer:
        servers:
          - url: ${echo.url}
`;
  const resolver = (name: string, dns: string): string => `  ${name}:
    acme:
      caServer: ${pebble.directoryUrl}
      storage: ./${name}.json
      caCertificates: [./pebble.pem]
      dnsChallenge:
${dns}`;
  const portierYaml = `entryPoints:
  websecure:
    address: 127.0.0.1:0
providers:
  file:
    filename: dynamic.yaml
    watch: false
certificatesResolvers:
${resolver('dns', `        provider: rfc2136\n        resolvers: ["127.0.0.1:${bind.port}"]\n        propagation: { disableANSChecks: true, requireAllRNS: true }\n`)}${resolver('hook', `        provider: exec\n        resolvers: ["127.0.0.1:${bind.port}"]\n        delayBeforeCheck: 0\n        propagation: { disableANSChecks: true }\n`)}${resolver('slow', `        provider: rfc2136\n        resolvers: ["127.0.0.1:${(silent.address() as { port: number }).port}"]\n        propagation: { disableANSChecks: true }\n`)}${resolver('nosuch', '        provider: cloudflair\n')}dataDir: ./data
`;
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic, 'pebble.pem': pebble.pebbleCertPem });
  const port = portier.gateway.port('websecure');

  const broken = portier.gateway.table.routers.get('broken@file');
  t.match(broken?.errors.join('\n'), /tls\.certResolver: resolver "nosuch" is in error: .*dnsChallenge\.provider: unknown DNS provider "cloudflair"/, 'a router using the resolver with an unknown provider shows the error');

  const listing = () => portier.tls.certificates();
  const deadline = Date.now() + 45_000;
  const done = (): boolean => {
    const l = listing();
    return l.some((c) => c.resolver === 'dns' && c.status === 'valid') && l.some((c) => c.resolver === 'hook' && c.status === 'valid') && portier.tls.failedOrders().some((o) => o.resolver === 'slow' && /DNS propagation/.test(o.lastError));
  };
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const certs = listing();

  const wild = certs.find((c) => c.resolver === 'dns');
  t.same(wild?.domains.slice().sort(), [`*.${ZONE}`, ZONE], 'one certificate: the wildcard and the zone itself');
  t.same(wild?.challenges, ['dns-01'], 'validated over DNS-01');
  t.same(wild?.wildcards, [`*.${ZONE}`], 'its wildcard coverage is listed');
  t.equal(certs.filter((c) => c.resolver === 'dns').length, 1, 'both routers share it: no second order');
  const hook = certs.find((c) => c.resolver === 'hook');
  t.same(hook?.domains, [`hook.${ZONE}`], 'the exec provider got its certificate');
  t.match(fs.readFileSync(path.join(scripts, 'calls.log'), 'utf8'), /present _acme-challenge\.hook\.portier\.test\.\ncleanup _acme-challenge\.hook\.portier\.test\./, 'exec was called with present, then cleanup');

  for (const host of ['a', 'b']) {
    const r = await httpsGet(port, `${host}.${ZONE}`, pebble.rootPem);
    t.equal(r.status, 200, `${host}.${ZONE}: HTTPS verified against pebble's root`);
    t.match(r.cert.subjectAltName, /DNS:\*\.portier\.test/, `${host}.${ZONE} is served the wildcard`);
  }
  const root = path.join(scripts, 'root.pem');
  fs.writeFileSync(root, pebble.rootPem);
  const curl = await run('curl', ['-sS', '--max-time', '10', '--cacert', root, '--resolve', `b.${ZONE}:${port}:127.0.0.1`, `https://b.${ZONE}:${port}/`]);
  t.equal(curl.code, 0, `curl verifies b.${ZONE} with pebble's root ${curl.stderr}`);
  const sclient = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', ZONE, '-CAfile', root, '-verify_return_error']);
  t.match(sclient.stdout, /Verify return code: 0 \(ok\)/, `openssl s_client verifies ${ZONE} (the SAN)`);
  t.equal((await run('curl', ['-sS', '--max-time', '10', '--cacert', root, '--resolve', `hook.${ZONE}:${port}:127.0.0.1`, `https://hook.${ZONE}:${port}/`])).code, 0, 'the exec certificate serves too');

  const slow = portier.tls.failedOrders().find((o) => o.resolver === 'slow');
  t.same(slow?.domains, [`slow.${ZONE}`], 'the order whose propagation check cannot succeed is listed as failed');
  t.match(slow?.lastError, /DNS propagation: the TXT record _acme-challenge\.slow\.portier\.test\. was not seen within 3 s \(.*no answer/, 'with the reason');
  t.ok(slow && Date.parse(slow.nextAttemptAt!) - Date.parse(slow.lastAttemptAt!) >= 60_000, 'and a retry time after the backoff (1 min)');
  t.equal((await httpsGet(port, `a.${ZONE}`, pebble.rootPem)).status, 200, 'Portier keeps serving');

  for (const name of ['', 'a.', 'hook.', 'slow.']) t.same(bind.txt(`_acme-challenge.${name}${ZONE}`), [], `no TXT record left at _acme-challenge.${name}${ZONE}`);
});

t.test('examples/dns01-wildcard: its files, with pebble and the test BIND in place of the CA and the example BIND', async (t) => {
  if (!requirePebble(t) || !requireBind(t)) return;
  const bind = await startBind(ZONE);
  t.teardown(() => bind.stop());
  const pebble = await startPebble({ dnsServer: `127.0.0.1:${bind.port}` });
  t.teardown(() => pebble.stop());
  const echo = await startEchoBackend('whoami');
  t.teardown(() => echo.close());
  Object.assign(process.env, {
    RFC2136_NAMESERVER: `127.0.0.1:${bind.port}`,
    RFC2136_TSIG_KEY: bind.keyName,
    RFC2136_TSIG_SECRET: bind.secret,
    RFC2136_TSIG_ALGORITHM: bind.algorithm,
    RFC2136_PROPAGATION_TIMEOUT: '20',
  });
  const example = path.resolve(__dirname, '../../examples/dns01-wildcard');
  const read = (f: string): string => fs.readFileSync(path.join(example, f), 'utf8');
  const portierYaml = read('portier.yaml')
    .replace('":8443"', '127.0.0.1:0')
    .replace(/caServer: .*/, `caServer: ${pebble.directoryUrl}\n      caCertificates: [./pebble.pem]`)
    .replace('127.0.0.1:5353', `127.0.0.1:${bind.port}`);
  const dynamic = read('dynamic.yaml').replace('http://127.0.0.1:8080', echo.url);
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic, 'pebble.pem': pebble.pebbleCertPem });
  const deadline = Date.now() + 40_000;
  while (!portier.tls.certificates().some((c) => c.resolver === 'dns') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const port = portier.gateway.port('websecure');
  for (const host of ['app', 'api']) {
    const r = await httpsGet(port, `${host}.${ZONE}`, pebble.rootPem);
    t.equal(r.status, 200, `${host}.${ZONE} served with the wildcard certificate`);
    t.equal(echo.requests.at(-1)?.headers.host, `${host}.${ZONE}`, 'and reaches the backend');
  }
  t.equal(pebble.ordersCount(), 1, 'one order for both routers');
  t.same(bind.txt(`_acme-challenge.${ZONE}`), [], 'the TXT record is gone');
});
