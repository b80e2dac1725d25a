import t from 'tap';
import net from 'node:net';
import tls from 'node:tls';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import type { RequestRecord } from '../../src/server/observer';

/**
 * One definition of a response's size: its body bytes, without the head
 * or chunked framing (0 for HEAD, 204, 304), whichever front end served
 * it: the direct reader, Node's parser, over plaintext or TLS, with or
 * without middlewares. Metrics and the access log both read this record.
 */
const BODY = 'hello world';

t.test('byte and status accounting is the same on every path', async (t) => {
  const backend = await startEchoBackend('acct', (req, res) => {
    if (req.url === '/empty') res.writeHead(204).end();
    else if (req.url === '/sized') res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
    else {
      // Two writes, no length: chunked on the wire.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(BODY.slice(0, 5));
      setTimeout(() => res.end(BODY.slice(5)), 5);
    }
    return true;
  });
  t.teardown(() => backend.close());
  const records: RequestRecord[] = [];
  const gw = await startTestGateway(
    {
      http: {
        routers: {
          bare: { rule: 'Host(`bare.test`)', service: 'acct' },
          'bare-tls': { rule: 'Host(`bare.test`)', service: 'acct', tls: {} },
          mw: { rule: 'Host(`mw.test`)', service: 'acct', middlewares: ['hdr'] },
          'mw-tls': { rule: 'Host(`mw.test`)', service: 'acct', middlewares: ['hdr'], tls: {} },
        },
        middlewares: { hdr: { headers: { customResponseHeaders: { 'x-mw': '1' } } } },
        services: { acct: { loadBalancer: { servers: [{ url: backend.url }] } } },
      },
    },
    { observers: [{ requestEnded: (r) => records.push(r) }] },
  );
  t.teardown(() => gw.close());

  const cases = [
    { name: 'direct path, chunked', host: 'bare.test', path: '/chunked', bytes: BODY.length, status: 200 },
    { name: "Node's parser (Connection: close), chunked", host: 'bare.test', path: '/chunked', extra: 'Connection: close\r\n', bytes: BODY.length, status: 200 },
    { name: "Node's parser (a body), chunked", host: 'bare.test', path: '/chunked', method: 'POST', bytes: BODY.length, status: 200 },
    { name: 'middleware, chunked', host: 'mw.test', path: '/chunked', bytes: BODY.length, status: 200 },
    { name: 'TLS, direct path, chunked', host: 'bare.test', path: '/chunked', tls: true, bytes: BODY.length, status: 200 },
    { name: 'TLS, middleware, chunked', host: 'mw.test', path: '/chunked', tls: true, bytes: BODY.length, status: 200 },
    { name: 'direct path, sized', host: 'bare.test', path: '/sized', bytes: BODY.length, status: 200 },
    { name: 'middleware, sized', host: 'mw.test', path: '/sized', bytes: BODY.length, status: 200 },
    { name: 'direct path, HEAD', host: 'bare.test', path: '/sized', method: 'HEAD', bytes: 0, status: 200 },
    { name: 'middleware, HEAD', host: 'mw.test', path: '/sized', method: 'HEAD', bytes: 0, status: 200 },
    { name: 'direct path, 204', host: 'bare.test', path: '/empty', bytes: 0, status: 204 },
    { name: 'middleware, 204', host: 'mw.test', path: '/empty', bytes: 0, status: 204 },
    { name: 'direct path, 404', host: 'nobody.test', path: '/', bytes: '404 page not found\n'.length, status: 404 },
    { name: "Node's parser, 404", host: 'nobody.test', path: '/', method: 'POST', bytes: '404 page not found\n'.length, status: 404 },
  ];
  for (const c of cases) {
    const before = records.length;
    const method = c.method ?? 'GET';
    const body = method === 'POST' ? 'x' : '';
    const raw = await exchange(gw.port, c.tls ? c.host : undefined, `${method} ${c.path} HTTP/1.1\r\nHost: ${c.host}\r\n${c.extra ?? ''}${body ? 'Content-Length: 1\r\n' : ''}\r\n${body}`);
    t.match(raw, new RegExp(`^HTTP/1\\.1 ${c.status} `), `${c.name}: status on the wire`);
    await new Promise((r) => setTimeout(r, 50));
    const record = records[before];
    t.equal(records.length, before + 1, `${c.name}: one record`);
    t.equal(record?.status, c.status, `${c.name}: recorded status`);
    t.equal(record?.bytesOut, c.bytes, `${c.name}: recorded body bytes`);
  }
});

/** Sends `request` on a fresh connection (TLS with SNI `tlsName` when given) and returns the response once it is complete. */
async function exchange(port: number, tlsName: string | undefined, request: string): Promise<string> {
  const raw = net.connect({ host: '127.0.0.1', port });
  const socket = tlsName ? tls.connect({ socket: raw, servername: tlsName, rejectUnauthorized: false }) : raw;
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => undefined);
  socket.write(request);
  const head = request.startsWith('HEAD');
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = Buffer.concat(chunks).toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end >= 0) {
      const fields = text.slice(0, end).toLowerCase();
      const length = /content-length: (\d+)/.exec(fields);
      const noBody = head || / 204 /.test(fields.split('\r\n')[0]);
      const done = noBody || (length ? text.length >= end + 4 + Number(length[1]) : text.endsWith('0\r\n\r\n'));
      if (done) {
        socket.destroy();
        return text;
      }
    }
    if (Date.now() > deadline) throw new Error(`no complete response: ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
