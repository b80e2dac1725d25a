import t from 'tap';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { LocalCa } from '../../src/tls/local-ca';
import { staticConfigDecoder } from '../../src/config/static';

/**
 * HTTP/2 to backends with curl as the client, over HTTP/1.1 and HTTP/2
 * (prior knowledge): an h2c backend sees `:authority` from Host and no
 * connection-specific field; a headers middleware acts the same whatever
 * the client spoke; an `https:` backend is spoken to in HTTP/2 when its
 * ALPN offers h2, in HTTP/1.1 with `disableHTTP2` (a named serversTransport's
 * or the static one's).
 */

interface Seen {
  version: string;
  authority: string;
  headers: Record<string, string>;
}

/** Answers each request with what it saw, as JSON, and a trailer. */
function echo(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  const seen: Seen = { version: req.httpVersion, authority: String(req.headers[':authority'] ?? req.headers.host), headers: {} };
  for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith(':')) seen.headers[k] = String(v);
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.addTrailers({ 'x-checksum': 'abc' });
    res.end(JSON.stringify(seen));
  });
}

function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', '--max-time', '20', ...args], { encoding: 'latin1' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${args.join(' ')}: ${stderr}`));
      const at = stdout.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(stdout)![1]), headers: stdout.slice(0, at).toLowerCase(), body: stdout.slice(at + 4) });
    });
  });
}

let gw: TestGateway;
let dir: string;
let securePort: number;
const servers: { close(): void }[] = [];

const listen = (server: http2.Http2Server | http2.Http2SecureServer): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

t.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portier-h2up-'));
  const leaf = new LocalCa({ dataDir: dir }).issue('backend.localhost');
  const h2c = http2.createServer(echo);
  const secure = http2.createSecureServer({ cert: leaf.certPem, key: leaf.keyPem, allowHTTP1: true }, echo);
  servers.push(h2c, secure);
  const h2cPort = await listen(h2c);
  securePort = await listen(secure);
  gw = await startTestGateway({
    http: {
      routers: {
        h2c: { rule: 'Host(`h2c.localhost`)', service: 'h2c', middlewares: ['marks'] },
        bare: { rule: 'Host(`bare.localhost`)', service: 'h2c' },
        alpn: { rule: 'Host(`alpn.localhost`)', service: 'alpn' },
        h1only: { rule: 'Host(`h1only.localhost`)', service: 'h1only' },
      },
      services: {
        h2c: { loadBalancer: { servers: [{ url: `h2c://127.0.0.1:${h2cPort}` }] } },
        alpn: { loadBalancer: { servers: [{ url: `https://127.0.0.1:${securePort}` }], serversTransport: 'trusting' } },
        h1only: { loadBalancer: { servers: [{ url: `https://127.0.0.1:${securePort}` }], serversTransport: 'h1' } },
      },
      middlewares: { marks: { headers: { customRequestHeaders: { 'X-Added': 'yes' }, customResponseHeaders: { 'X-Marked': 'yes' } } } },
      serversTransports: { trusting: { insecureSkipVerify: true }, h1: { insecureSkipVerify: true, disableHTTP2: true } },
    },
  });
});

t.teardown(async () => {
  await gw?.close();
  for (const s of servers) s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const clients = [
  { name: 'HTTP/1.1 client', args: ['--http1.1'], named: undefined },
  { name: 'HTTP/2 client (prior knowledge)', args: ['--http2-prior-knowledge'], named: '1' },
];

for (const c of clients) {
  t.test(`${c.name} to an h2c backend`, async (t) => {
    const r = await curl([...c.args, '-H', 'Host: h2c.localhost', '-H', 'Connection: keep-alive, X-Private', '-H', 'X-Private: 1', '-H', 'TE: gzip', `${gw.url}/path?q=1`]);
    t.equal(r.status, 200, 'answered');
    // curl prints the trailers right after the body.
    const end = r.body.lastIndexOf('}') + 1;
    const seen = JSON.parse(r.body.slice(0, end)) as Seen;
    t.match(r.body.slice(end), /^x-checksum: abc/, "the backend's trailer reaches the client");
    t.equal(seen.version, '2.0', 'the backend is spoken to in HTTP/2');
    t.equal(seen.authority, 'h2c.localhost', ':authority is the client Host');
    for (const name of ['connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'host']) t.notOk(name in seen.headers, `no ${name} field to the backend`);
    // HTTP/1.1 only: a field named in Connection is hop-by-hop (curl sends no Connection over HTTP/2).
    t.equal(seen.headers['x-private'], c.named, 'X-Private named in Connection');
    t.equal(seen.headers['x-added'], 'yes', 'the headers middleware added its request field');
    t.match(r.headers, /\r\nx-marked: yes/, 'and its response field');
    t.match(r.headers, /\r\ncontent-type: application\/json/, "the backend's fields come back");
  });
}

t.test('HTTP/1.1 clients through a router without middlewares (the direct path) to an h2c backend', async (t) => {
  for (const round of [1, 2, 3]) {
    // Round 1 (no body: the direct path) says it reads trailers.
    const r = await curl(['--http1.1', '-H', 'Host: bare.localhost', ...(round === 1 ? ['-H', 'TE: trailers'] : ['-d', 'x'.repeat(1000)]), `${gw.url}/up`]);
    t.equal(r.status, 200, `#${round}: answered`);
    const seen = JSON.parse(r.body.slice(0, r.body.lastIndexOf('}') + 1)) as Seen;
    t.equal(seen.version, '2.0', `#${round}: HTTP/2 to the backend`);
    if (round > 1) t.equal(seen.headers['content-length'], '1000', `#${round}: the body's length passed on`);
    // A request with a body goes through Node's parser and response, which send trailers; the direct path's
    // response sends them to a client that said `TE: trailers` (docs/grpc.md).
    t.match(r.body.slice(r.body.lastIndexOf('}') + 1), /^x-checksum: abc/, `#${round}: the trailer`);
  }
});

t.test('https backends: h2 by ALPN, HTTP/1.1 with disableHTTP2', async (t) => {
  const cases = [
    { host: 'alpn.localhost', version: '2.0' },
    { host: 'h1only.localhost', version: '1.1' },
  ];
  for (const c of cases) {
    // Twice: the second request reuses what the first one set up (a session, or the adopted connection).
    for (const round of [1, 2]) {
      const r = await curl(['-H', `Host: ${c.host}`, `${gw.url}/`]);
      t.equal(r.status, 200, `${c.host} #${round}: answered`);
      t.equal((JSON.parse(r.body) as Seen).version, c.version, `${c.host} #${round}: HTTP/${c.version} to the backend`);
    }
  }
});

t.test('the static serversTransport: disableHTTP2 for every service that names no transport', async (t) => {
  const dynamic = {
    http: {
      routers: { plain: { rule: 'Host(`plain.localhost`)', service: 'plain' }, named: { rule: 'Host(`named.localhost`)', service: 'named' } },
      services: {
        plain: { loadBalancer: { servers: [{ url: `https://127.0.0.1:${securePort}` }] } },
        named: { loadBalancer: { servers: [{ url: `https://127.0.0.1:${securePort}` }], serversTransport: 'h2' } },
      },
      serversTransports: { h2: { disableHTTP2: false } },
    },
  };
  const cases = [
    { name: 'disableHTTP2: true', transport: { insecureSkipVerify: true, disableHTTP2: true }, plain: '1.1' },
    { name: 'disableHTTP2 left out (false)', transport: { insecureSkipVerify: true }, plain: '2.0' },
  ];
  for (const c of cases) {
    const static_ = await startTestGateway(dynamic, { staticConfig: { serversTransport: c.transport } });
    t.teardown(() => static_.close());
    const plain = await curl(['-H', 'Host: plain.localhost', `${static_.url}/`]);
    t.equal((JSON.parse(plain.body) as Seen).version, c.plain, `${c.name}: HTTP/${c.plain} to a service without a transport`);
    // A named transport takes what it leaves out from the static one (insecureSkipVerify here), and its own disableHTTP2.
    const named = await curl(['-H', 'Host: named.localhost', `${static_.url}/`]);
    t.equal((JSON.parse(named.body) as Seen).version, '2.0', `${c.name}: a named transport with disableHTTP2: false negotiates h2`);
  }
  t.throws(() => staticConfigDecoder({ serversTransport: { disableHTTP2: 'yes' } }, ''), /serversTransport\.disableHTTP2/, 'a value that is not a boolean is refused, naming the field');
});
