import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { ClientHelloError, HELLO_INCOMPLETE, readClientHello } from '../../src/server/client-hello';
import { NO_PROXY_HEADER, PROXY_INCOMPLETE, ProxyHeaderError, readProxyHeader } from '../../src/server/proxy-protocol';

/** The first bytes a real Node TLS client sends: its ClientHello, as a listener sees them. */
async function capturedHello(opts: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const first = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  const client = tls.connect({ host: '127.0.0.1', port, ...opts });
  client.on('error', () => undefined);
  const bytes = await first;
  client.destroy();
  server.close();
  return bytes;
}

/** The same handshake message re-framed as two records, split at `at` bytes of the message. */
function twoRecords(hello: Buffer, at: number): Buffer {
  const body = hello.subarray(5);
  const rec = (part: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 3, 1, part.length >> 8, part.length & 0xff]), part]);
  return Buffer.concat([rec(body.subarray(0, at)), rec(body.subarray(at))]);
}

t.test('ClientHello: SNI and ALPN read before any handshake, from real clients', async (t) => {
  const withSni = await capturedHello({ servername: 'App.Shop.localhost', ALPNProtocols: ['h2', 'http/1.1'] });
  const noSni = await capturedHello({ ALPNProtocols: ['http/1.1'] });
  const plain = await capturedHello({ servername: 'db.shop.localhost' });
  const cases: { name: string; bytes: Buffer; serverName?: string; alpn?: string[]; error?: RegExp }[] = [
    { name: 'SNI (lower-cased) and two ALPN protocols', bytes: withSni, serverName: 'app.shop.localhost', alpn: ['h2', 'http/1.1'] },
    { name: 'no SNI (an IP address)', bytes: noSni, serverName: '', alpn: ['http/1.1'] },
    { name: 'no ALPN', bytes: plain, serverName: 'db.shop.localhost', alpn: [] },
    { name: 'split over two records', bytes: twoRecords(withSni, 40), serverName: 'app.shop.localhost', alpn: ['h2', 'http/1.1'] },
    { name: 'split inside the handshake header', bytes: twoRecords(withSni, 2), serverName: 'app.shop.localhost', alpn: ['h2', 'http/1.1'] },
    { name: 'application data record first', bytes: Buffer.concat([Buffer.from([0x17]), withSni.subarray(1)]), error: /record type 23 at byte 0/ },
    { name: 'SSLv2-era record version', bytes: Buffer.concat([Buffer.from([0x16, 2, 0]), withSni.subarray(3)]), error: /record version 2\.0 at byte 1/ },
    { name: 'a ServerHello', bytes: Buffer.concat([withSni.subarray(0, 5), Buffer.from([2]), withSni.subarray(6)]), error: /handshake type 2 at byte 5/ },
    { name: 'empty record', bytes: Buffer.from([0x16, 3, 1, 0, 0]), error: /record length 0 at byte 3/ },
    {
      name: 'extensions longer than the message',
      bytes: (() => {
        const b = Buffer.from(plain);
        // The handshake length stays; the session id claims more bytes than the message holds.
        b[5 + 4 + 34] = 0xff;
        return b;
      })(),
      error: /truncated/,
    },
  ];
  for (const c of cases) {
    if (c.error) {
      t.throws(() => readClientHello(c.bytes), { constructor: ClientHelloError, message: c.error }, c.name);
      continue;
    }
    const hello = readClientHello(c.bytes);
    t.not(hello, HELLO_INCOMPLETE, `${c.name}: complete`);
    if (hello === HELLO_INCOMPLETE) continue;
    t.equal(hello.serverName, c.serverName, `${c.name}: server name`);
    t.same(hello.alpn, c.alpn, `${c.name}: ALPN`);
  }
  // Every proper prefix of a hello waits for more bytes: a client's first read may end anywhere.
  let early = 0;
  for (let n = 1; n < withSni.length; n++) if (readClientHello(withSni.subarray(0, n)) !== HELLO_INCOMPLETE) early++;
  t.equal(early, 0, `all ${withSni.length - 1} prefixes are incomplete`);
});

const v2 = (cmd: number, fam: number, addr: number[], tlv: number[] = []): Buffer => {
  const rest = [...addr, ...tlv];
  return Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, cmd, fam, rest.length >> 8, rest.length & 0xff, ...rest]);
};
const ipv4Addrs = [203, 0, 113, 7, 127, 0, 0, 1, 0xd4, 0x31, 0x01, 0xbb];
const ipv6Addrs = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 0x09, ...Array(15).fill(0), 1, 0x30, 0x39, 0x01, 0xbb];

t.test('PROXY protocol v1 and v2 headers', async (t) => {
  const cases: { name: string; bytes: Buffer; want: ReturnType<typeof readProxyHeader> | 'error'; error?: RegExp }[] = [
    { name: 'v1 TCP4', bytes: Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 54321 443\r\nGET /'), want: { length: 44, source: { address: '203.0.113.7', port: 54321 } } },
    { name: 'v1 TCP6', bytes: Buffer.from('PROXY TCP6 2001:db8::9 ::1 12345 443\r\n'), want: { length: 38, source: { address: '2001:db8::9', port: 12345 } } },
    { name: 'v1 UNKNOWN keeps the peer', bytes: Buffer.from('PROXY UNKNOWN\r\n'), want: { length: 15 } },
    { name: 'v1 unknown protocol', bytes: Buffer.from('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'), want: 'error', error: /unknown protocol "UDP4" at byte 6/ },
    { name: 'v1 bad address', bytes: Buffer.from('PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n'), want: 'error', error: /invalid address "1\.2\.3\.400"/ },
    { name: 'v1 bad port', bytes: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n'), want: 'error', error: /invalid port "70000"/ },
    { name: 'v1 missing field', bytes: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), want: 'error', error: /expected 6 fields, got 5/ },
    { name: 'v1 without CRLF in 107 bytes', bytes: Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), want: 'error', error: /longer than 107 bytes/ },
    { name: 'v1 incomplete', bytes: Buffer.from('PROXY TCP4 203.0.113.7'), want: PROXY_INCOMPLETE },
    { name: 'v1 prefix', bytes: Buffer.from('PRO'), want: PROXY_INCOMPLETE },
    { name: 'v2 TCP4', bytes: Buffer.concat([v2(0x21, 0x11, ipv4Addrs), Buffer.from('GET /')]), want: { length: 28, source: { address: '203.0.113.7', port: 0xd431 } } },
    { name: 'v2 TCP6', bytes: v2(0x21, 0x21, ipv6Addrs), want: { length: 52, source: { address: '2001:db8::9', port: 0x3039 } } },
    { name: 'v2 with TLVs skipped', bytes: v2(0x21, 0x11, ipv4Addrs, [0x04, 0, 2, 0xaa, 0xbb]), want: { length: 33, source: { address: '203.0.113.7', port: 0xd431 } } },
    { name: 'v2 LOCAL keeps the peer', bytes: v2(0x20, 0x00, []), want: { length: 16 } },
    { name: 'v2 UNSPEC keeps the peer', bytes: v2(0x21, 0x00, [1, 2, 3]), want: { length: 19 } },
    { name: 'v2 version 3', bytes: v2(0x31, 0x11, ipv4Addrs), want: 'error', error: /version 3 at byte 12/ },
    { name: 'v2 unknown command', bytes: v2(0x22, 0x11, ipv4Addrs), want: 'error', error: /unknown command 2 at byte 12/ },
    { name: 'v2 too short for IPv4', bytes: v2(0x21, 0x11, [1, 2, 3]), want: 'error', error: /too short for IPv4/ },
    { name: 'v2 oversized', bytes: Buffer.concat([v2(0x21, 0x11, ipv4Addrs).subarray(0, 14), Buffer.from([0x20, 0x00])]), want: 'error', error: /8208 bytes, over 4096/ },
    { name: 'v2 incomplete', bytes: v2(0x21, 0x11, ipv4Addrs).subarray(0, 20), want: PROXY_INCOMPLETE },
    { name: 'v2 signature prefix', bytes: Buffer.from([0x0d, 0x0a, 0x0d]), want: PROXY_INCOMPLETE },
    { name: 'an HTTP request', bytes: Buffer.from('GET / HTTP/1.1\r\n'), want: NO_PROXY_HEADER },
    { name: 'a POST (shares the first letter)', bytes: Buffer.from('POST / HTTP/1.1\r\n'), want: NO_PROXY_HEADER },
    { name: 'a TLS record', bytes: Buffer.from([0x16, 3, 1, 0, 5]), want: NO_PROXY_HEADER },
  ];
  for (const c of cases) {
    if (c.want === 'error') t.throws(() => readProxyHeader(c.bytes), { constructor: ProxyHeaderError, message: c.error! }, c.name);
    else t.same(readProxyHeader(c.bytes), c.want, c.name);
  }
});
