import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveEndpoint } from '../../providers/docker/endpoint';
import { decodeDockerOptions } from '../../providers/docker/options';
import { decodeSwarmOptions } from '../../providers/swarm/options';

/** Engine endpoint resolution (option, DOCKER_HOST, TLS) and option decoding errors. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'portier-certs-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(path.join(dir, f), `-----${f}-----`);

const endpointCases = [
  { name: 'default socket', input: {}, env: {}, want: { display: 'unix:///var/run/docker.sock', options: { socketPath: '/var/run/docker.sock' } } },
  { name: 'DOCKER_HOST unix', input: {}, env: { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }, want: { options: { socketPath: '/run/user/1000/docker.sock' } } },
  { name: 'option wins over DOCKER_HOST', input: { endpoint: 'unix:///tmp/d.sock' }, env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' }, want: { options: { socketPath: '/tmp/d.sock' } } },
  { name: 'DOCKER_HOST tcp', input: {}, env: { DOCKER_HOST: 'tcp://127.0.0.1:2375' }, want: { display: 'tcp://127.0.0.1:2375', options: { host: '127.0.0.1', port: '2375', protocol: 'http' } } },
  {
    name: 'DOCKER_HOST tcp with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH',
    input: {}, env: { DOCKER_HOST: 'tcp://127.0.0.1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir },
    want: { display: 'tcp+tls://127.0.0.1', options: { port: '2376', protocol: 'https', ca: Buffer.from('-----ca.pem-----'), cert: Buffer.from('-----cert.pem-----'), key: Buffer.from('-----key.pem-----') } },
  },
  {
    name: 'explicit tls paths',
    input: { endpoint: 'tcp://[::1]:2376', tls: { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') } }, env: {},
    want: { options: { host: '::1', protocol: 'https', ca: Buffer.from('-----ca.pem-----') } },
  },
  { name: 'missing cert file is a clear error', input: { endpoint: 'tcp://127.0.0.1:2376', tls: { ca: path.join(dir, 'nope.pem') } }, env: {}, error: /tls\.ca: cannot read TLS ca .*nope\.pem/ },
  { name: 'ssh is not supported', input: {}, env: { DOCKER_HOST: 'ssh://me@host' }, error: /unsupported docker endpoint scheme ssh/ },
];

for (const c of endpointCases) {
  t.test(`endpoint: ${c.name}`, async (t) => {
    if (c.error) t.throws(() => resolveEndpoint(c.input, c.env), c.error);
    else t.match(resolveEndpoint(c.input, c.env), c.want);
  });
}

const optionCases = [
  { name: 'defaults', decode: decodeDockerOptions, raw: {}, want: { exposedByDefault: true, watch: true, throttle: 100, prefixes: ['portier', 'traefik'] } },
  { name: 'case-insensitive keys, lists from strings', decode: decodeDockerOptions, raw: { ExposedByDefault: 'false', prefixes: 'acme' }, want: { exposedByDefault: false, prefixes: ['acme'] } },
  { name: 'swarm refreshSeconds as seconds', decode: decodeSwarmOptions, raw: { refreshSeconds: 30 }, want: { refreshSeconds: 30_000 } },
  { name: 'unknown key', decode: decodeDockerOptions, raw: { exposedbydefualt: true }, error: /providers\.x\.exposedbydefualt: unknown key \(did you mean exposedByDefault\?\)/ },
  { name: 'bad constraint names its position', decode: decodeDockerOptions, raw: { constraints: 'Label(`a`,`b`) &&' }, error: /providers\.x\.constraints: unexpected end of expression/ },
  { name: 'unknown constraint function', decode: decodeDockerOptions, raw: { constraints: 'Tag(`a`)' }, error: /unknown constraint "Tag"/ },
  { name: 'bad endpoint', decode: decodeDockerOptions, raw: { endpoint: '/var/run/docker.sock' }, error: /providers\.x\.endpoint: expected unix:\/\// },
];

for (const c of optionCases) {
  t.test(`options: ${c.name}`, async (t) => {
    if (c.error) t.throws(() => c.decode(c.raw, 'providers.x'), c.error);
    else t.match(c.decode(c.raw, 'providers.x'), c.want);
  });
}
