import t, { type Test } from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { startPortierFromFiles } from '../helpers/portier';

/**
 * TCP relay faults and choices on real sockets: a reset on either side
 * closes the other, a server's half-close reaches the client while the
 * client's bytes still reach the server, middlewares refuse without a
 * byte, and an HTTPS router bound to a name outranks a TCP catch-all.
 */
interface Peer { port: number; sockets: net.Socket[]; closed: Promise<void>[] }

async function server(t: Test, onConn: (s: net.Socket) => void): Promise<Peer> {
  const peer: Peer = { port: 0, sockets: [], closed: [] };
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    peer.sockets.push(s);
    peer.closed.push(new Promise((r) => s.once('close', () => r())));
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of peer.sockets) s.destroy();
    return new Promise((r) => srv.close(() => r(undefined)));
  });
  peer.port = (srv.address() as net.AddressInfo).port;
  return peer;
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

/** `halfOpen`: the client keeps writing after the server's end (else an end closes it, as by default). */
const connect = (port: number, halfOpen = false): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });

t.test('TCP relay faults', async (t) => {
  const echo = await server(t, (s) => s.pipe(s));
  // Answers "early", half-closes at once, then reports what the client sent after that.
  const halfFirst = await server(t, (s) => {
    s.end('early\n');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => (s as net.Socket & { got?: string }).got = got);
  });
  const https = await server(t, (s) => s.end('tcp-catch-all\n'));
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': 'dataDir: ./data\nentryPoints:\n  a: { address: "127.0.0.1:0" }\n  b: { address: "127.0.0.1:0" }\n  c: { address: "127.0.0.1:0" }\n  d: { address: "127.0.0.1:0" }\n  e: { address: "127.0.0.1:0" }\nproviders:\n  file: { filename: dynamic.yaml }\n',
    'dynamic.yaml': `
http:
  routers:
    site: { entryPoints: [e], rule: "Host(\`site.localhost\`)", service: noop, tls: {} }
  services:
    noop: { loadBalancer: { servers: [{ url: "http://127.0.0.1:1" }] } }
tcp:
  routers:
    echo: { entryPoints: [a], rule: "HostSNI(\`*\`)", service: echo }
    half: { entryPoints: [b], rule: "HostSNI(\`*\`)", service: half }
    few: { entryPoints: [c], rule: "HostSNI(\`*\`)", service: echo, middlewares: [one] }
    nobody: { entryPoints: [d], rule: "HostSNI(\`*\`)", service: echo, middlewares: [elsewhere] }
    rest: { entryPoints: [e], rule: "HostSNI(\`*\`)", service: catchall, tls: { passthrough: true } }
  services:
    echo: { loadBalancer: { servers: [{ address: "127.0.0.1:${echo.port}" }] } }
    half: { loadBalancer: { servers: [{ address: "127.0.0.1:${halfFirst.port}" }], serversTransport: patient } }
    catchall: { loadBalancer: { servers: [{ address: "127.0.0.1:${https.port}" }] } }
  middlewares:
    one: { inFlightConn: { amount: 1 } }
    elsewhere: { ipAllowList: { sourceRange: ["10.0.0.0/8"] } }
  serversTransports:
    patient: { terminationDelay: "-1s" }
`,
  });
  const gw = portier.gateway;

  await t.test('a client reset closes the server side', async (t) => {
    const c = await connect(gw.port('a'));
    c.write('ping');
    await within(new Promise((r) => c.once('data', r)), 10_000, 'echo');
    const before = echo.closed.length;
    c.resetAndDestroy();
    await within(echo.closed[before - 1], 10_000, 'the server socket to close');
    t.pass('server socket closed after the client reset');
  });

  await t.test('a server reset closes the client', async (t) => {
    const c = await connect(gw.port('a'));
    c.write('ping');
    await within(new Promise((r) => c.once('data', r)), 10_000, 'echo');
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.on('error', () => undefined);
    echo.sockets[echo.sockets.length - 1].resetAndDestroy();
    await within(closed, 10_000, 'the client to be closed');
    t.pass('client closed after the server reset');
  });

  await t.test("the server's half-close reaches the client; the client's bytes still reach the server", async (t) => {
    const c = await connect(gw.port('b'), true);
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    await within(new Promise((r) => c.once('end', r)), 10_000, 'the end from the server');
    t.equal(text, 'early\n', 'the answer, then the end');
    c.end('late words');
    await within(halfFirst.closed[halfFirst.closed.length - 1], 10_000, 'both halves closed');
    t.equal((halfFirst.sockets[halfFirst.sockets.length - 1] as net.Socket & { got?: string }).got, 'late words', 'the server read the client\'s bytes sent after its own end');
  });

  await t.test('inFlightConn refuses a second connection from the same client; ipAllowList refuses outsiders', async (t) => {
    const first = await connect(gw.port('c'));
    first.write('x');
    await within(new Promise((r) => first.once('data', r)), 10_000, 'first connection served');
    const second = await connect(gw.port('c'));
    let got = '';
    second.on('data', (d: Buffer) => (got += d.toString()));
    second.write('y');
    await within(new Promise((r) => second.once('close', r)), 10_000, 'second connection closed');
    t.equal(got, '', 'the second connection was closed without a byte');
    first.destroy();
    const outsider = await connect(gw.port('d'));
    outsider.write('z');
    let said = '';
    outsider.on('data', (d: Buffer) => (said += d.toString()));
    await within(new Promise((r) => outsider.once('close', r)), 10_000, 'outsider closed');
    t.equal(said, '', 'a client outside ipAllowList is closed without a byte');
  });

  await t.test('an HTTPS router bound to a name outranks a TCP catch-all', async (t) => {
    const talk = (servername: string): Promise<string> => new Promise((resolve) => {
      const s = tls.connect({ port: gw.port('e'), host: '127.0.0.1', servername, rejectUnauthorized: false });
      let out = '';
      s.on('secureConnect', () => resolve(`TLS ended by Portier (${String(s.getPeerCertificate().subject?.CN)})`));
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('error', () => resolve(out));
      s.on('close', () => resolve(out));
    });
    t.equal(await talk('site.localhost'), 'TLS ended by Portier (site.localhost)', 'site.localhost: the HTTPS router');
    t.equal(await talk('other.localhost'), '', 'other names: the passthrough catch-all (the plaintext server closes the handshake)');
    t.ok(https.sockets.length >= 1, 'the catch-all server got the other connection');
  });
});
