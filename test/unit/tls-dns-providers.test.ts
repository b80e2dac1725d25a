/**
 * DNS-01 providers as lego configures them: their variables (errors name
 * the variable), `httpreq` against a real HTTP server, `exec` against a real
 * script; and what a router sees of a resolver that cannot work.
 */
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DNS_PROVIDERS } from '../../src/tls/dns/index';
import { TlsManager } from '../../src/tls';

const record = { fqdn: '_acme-challenge.app.example.', value: 'v4lue', domain: 'app.example', token: 'tok', keyAuth: 'tok.thumb' };

t.test('provider variables: errors name the variable', async (t) => {
  const cases: { provider: string; env: Record<string, string>; message: RegExp }[] = [
    { provider: 'rfc2136', env: {}, message: /RFC2136_NAMESERVER is not set/ },
    { provider: 'rfc2136', env: { RFC2136_NAMESERVER: '127.0.0.1:99999' }, message: /RFC2136_NAMESERVER: expected host or host:port/ },
    { provider: 'rfc2136', env: { RFC2136_NAMESERVER: 'ns1', RFC2136_TSIG_KEY: 'k.' }, message: /set both RFC2136_TSIG_KEY and RFC2136_TSIG_SECRET/ },
    { provider: 'rfc2136', env: { RFC2136_NAMESERVER: 'ns1', RFC2136_TSIG_ALGORITHM: 'hmac-sha3.' }, message: /RFC2136_TSIG_ALGORITHM: unknown algorithm "hmac-sha3\."/ },
    { provider: 'rfc2136', env: { RFC2136_NAMESERVER: 'ns1', RFC2136_TTL: 'ten' }, message: /RFC2136_TTL: expected a whole number/ },
    { provider: 'rfc2136', env: { RFC2136_NAMESERVER: 'ns1', RFC2136_PROPAGATION_TIMEOUT: '1m' }, message: /RFC2136_PROPAGATION_TIMEOUT: expected a whole number of seconds/ },
    { provider: 'exec', env: {}, message: /EXEC_PATH is not set/ },
    { provider: 'exec', env: { EXEC_PATH: '/bin/true', EXEC_MODE: 'raw-ish' }, message: /EXEC_MODE: expected RAW/ },
    { provider: 'httpreq', env: { HTTPREQ_ENDPOINT: 'not a url' }, message: /HTTPREQ_ENDPOINT: expected a URL/ },
    { provider: 'httpreq', env: { HTTPREQ_ENDPOINT: 'ftp://x' }, message: /HTTPREQ_ENDPOINT: expected an http\(s\) URL/ },
  ];
  for (const c of cases) t.throws(() => DNS_PROVIDERS.get(c.provider)!(c.env), { message: c.message }, `${c.provider} ${JSON.stringify(c.env)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-env-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'secret'), 'c2VjcmV0\n');
  t.doesNotThrow(() => DNS_PROVIDERS.get('rfc2136')!({ RFC2136_NAMESERVER: 'ns1', RFC2136_TSIG_KEY: 'k.', RFC2136_TSIG_SECRET_FILE: path.join(dir, 'secret') }), 'a _FILE variable stands for its value');
});

t.test('httpreq posts present and cleanup to a real endpoint', async (t) => {
  const calls: { url: string; auth?: string; body: unknown }[] = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls.push({ url: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(body) });
      res.writeHead(status).end(status === 200 ? '' : 'zone locked');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/dns`;
  const cases = [
    { env: { HTTPREQ_ENDPOINT: base, HTTPREQ_USERNAME: 'u', HTTPREQ_PASSWORD: 'p' }, url: '/dns/present', auth: `Basic ${Buffer.from('u:p').toString('base64')}`, body: { fqdn: record.fqdn, value: record.value } },
    { env: { HTTPREQ_ENDPOINT: `${base}/`, HTTPREQ_MODE: 'RAW' }, url: '/dns/present', auth: undefined, body: { domain: record.domain, token: record.token, keyAuth: record.keyAuth } },
  ];
  for (const c of cases) {
    calls.length = 0;
    const p = DNS_PROVIDERS.get('httpreq')!(c.env);
    await p.present(record);
    await p.cleanup(record);
    t.same(calls, [{ url: c.url, auth: c.auth, body: c.body }, { url: c.url.replace('present', 'cleanup'), auth: c.auth, body: c.body }], `${c.env.HTTPREQ_MODE ?? 'default'} mode`);
  }
  status = 503;
  await t.rejects(DNS_PROVIDERS.get('httpreq')!({ HTTPREQ_ENDPOINT: base }).present(record), { message: /HTTPREQ present: POST .*\/dns\/present answered 503: zone locked/ });
});

t.test('exec runs the program as lego does; a failure carries its output', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-exec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'hook.sh');
  fs.writeFileSync(script, `#!/bin/sh\necho "$@" >> ${dir}/args\n[ "$1" = cleanup ] && { echo "no such record" >&2; exit 3; }\nexit 0\n`, { mode: 0o755 });
  const cases = [
    { env: { EXEC_PATH: script }, args: `present ${record.fqdn} ${record.value}` },
    { env: { EXEC_PATH: script, EXEC_MODE: 'RAW' }, args: `present -- ${record.domain} ${record.token} ${record.keyAuth}` },
  ];
  for (const c of cases) {
    fs.rmSync(path.join(dir, 'args'), { force: true });
    await DNS_PROVIDERS.get('exec')!(c.env).present(record);
    t.equal(fs.readFileSync(path.join(dir, 'args'), 'utf8').trim(), c.args, `${c.env.EXEC_MODE ?? 'default'} mode`);
  }
  await t.rejects(DNS_PROVIDERS.get('exec')!({ EXEC_PATH: script }).cleanup(record), { message: /hook\.sh cleanup exited with status 3: no such record/ });
});

t.test('routers see what is wrong with their resolver', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-tls-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const acme = (extra: object) => ({ acme: { caServer: 'https://127.0.0.1:1/dir', storage: path.join(dataDir, `${Object.keys(extra)[0]}-${Math.random()}.json`), ...extra } });
  const manager = new TlsManager({
    dataDir,
    env: { EXEC_PATH: '/bin/true' },
    resolvers: {
      web: acme({ httpChallenge: { entryPoint: 'web' } }),
      dns: acme({ dnsChallenge: { provider: 'exec' } }),
      typo: acme({ dnsChallenge: { provider: 'cloudflair' } }),
      unset: acme({ dnsChallenge: { provider: 'rfc2136' } }),
    },
  });
  t.teardown(() => manager.close());
  const wild = [{ main: '*.example.com', sans: ['example.com'] }];
  const cases: { tls: { certResolver?: string; domains?: { main: string; sans?: string[] }[] }; errors: RegExp[] }[] = [
    { tls: { certResolver: 'dns', domains: wild }, errors: [] },
    { tls: { certResolver: 'web' }, errors: [] },
    { tls: { certResolver: 'web', domains: wild }, errors: [/^tls\.domains\[0\]: \*\.example\.com needs DNS-01, and resolver "web" has no dnsChallenge$/] },
    { tls: { certResolver: 'typo' }, errors: [/^tls\.certResolver: resolver "typo" is in error: certificatesResolvers\.typo\.acme\.dnsChallenge\.provider: unknown DNS provider "cloudflair" \(Portier has rfc2136, exec, httpreq\)$/] },
    { tls: { certResolver: 'unset' }, errors: [/resolver "unset" is in error: .*rfc2136: RFC2136_NAMESERVER is not set/] },
    { tls: { certResolver: 'nope' }, errors: [/^tls\.certResolver: unknown certificate resolver "nope"$/] },
  ];
  for (const c of cases) {
    const got = manager.routerProblems(c.tls);
    t.equal(got.length, c.errors.length, JSON.stringify(c.tls));
    c.errors.forEach((re, i) => t.match(got[i], re));
  }
});
