import t from 'tap';
import http2 from 'node:http2';
import net from 'node:net';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';
import { frame } from '../helpers/h2-frames';
import { H2Response } from '../../src/server/h2-response';
import type { RequestRecord } from '../../src/server/observer';

/**
 * Plain HTTP/2 streams (docs/http2.md, "Plain streams"): a request
 * without a body whose router is plain is served on Node's stream API with
 * an H2Response; what comes back is checked frame by frame on a raw h2c
 * connection (no empty DATA frame, HEAD and 204 as one HEADERS frame),
 * and every other request still goes through Node's compatibility API.
 */

interface Frame {
  type: number;
  flags: number;
  length: number;
}

const DATA = 0x0;
const HEADERS = 0x1;
const END_STREAM = 0x1;

/** An HPACK literal without indexing, name from the static table (RFC 7541 6.2.2). */
const literal = (nameIndex: number, value: string): Buffer => Buffer.concat([Buffer.from([nameIndex, value.length]), Buffer.from(value, 'latin1')]);

/** One request on stream 1 of a fresh h2c connection; resolves the frames of stream 1 up to END_STREAM (or a reset). */
function rawRequest(port: number, method: string, authority: string, path: string): Promise<Frame[]> {
  // :method (static 2), :scheme http (6), :path (4), :authority (1).
  const block = Buffer.concat([literal(2, method), Buffer.from([0x86]), literal(4, path), literal(1, authority)]);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const frames: Frame[] = [];
    let got = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy(new Error('no complete response')));
    socket.on('connect', () =>
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(0x4, 0, 0, Buffer.alloc(0)), frame(HEADERS, 0x5, 1, block)])),
    );
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      while (got.length >= 9 && got.length >= 9 + got.readUIntBE(0, 3)) {
        const length = got.readUIntBE(0, 3);
        const f = { type: got[3], flags: got[4], length };
        const stream = got.readUInt32BE(5) & 0x7fffffff;
        got = got.subarray(9 + length);
        if (f.type === 0x4 && !(f.flags & 1)) socket.write(frame(0x4, 1, 0, Buffer.alloc(0)));
        if (stream !== 1) continue;
        frames.push(f);
        if (f.flags & END_STREAM || f.type === 0x3) {
          socket.destroy();
          return resolve(frames);
        }
      }
    });
    socket.on('error', reject);
  });
}

function nodeRequest(port: number, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request(headers, { endStream: body === undefined });
    if (body !== undefined) req.end(body);
    let head: http2.IncomingHttpHeaders = {};
    let text = '';
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), headers: head, body: text });
    });
  });
}

t.test('plain HTTP/2 streams', async (t) => {
  const echo = await startEchoBackend('plain', (req, res) => {
    if (req.url === '/empty') {
      res.writeHead(204);
      res.end();
      return true;
    }
    if (req.url === '/two-types') {
      // Node's HTTP/2 layer refuses a repeated single-value field: the client gets a 502, not a reset.
      res.setHeader('content-type', ['text/plain', 'text/html']);
      res.end('x');
      return true;
    }
    return false;
  });
  t.teardown(() => echo.close());
  const records: RequestRecord[] = [];
  const gw = await startTestGateway(
    {
      http: {
        routers: {
          plain: { rule: 'Host(`app.test`)', service: 'app' },
          gzip: { rule: 'Host(`gzip.test`)', service: 'app', middlewares: ['gz'] },
        },
        middlewares: { gz: { compress: {} } },
        services: { app: { loadBalancer: { servers: [{ url: echo.url }] } } },
      },
    },
    { observers: [{ requestEnded: (r) => records.push(r) }] },
  );
  t.teardown(() => gw.close());
  const authority = `app.test:${gw.port}`;
  const lastRecord = async (): Promise<RequestRecord> => {
    await new Promise((r) => setTimeout(r, 20));
    return records[records.length - 1];
  };

  const frameCases = [
    { name: 'GET: HEADERS, then the body with END_STREAM, no empty DATA frame', method: 'GET', path: '/', want: [HEADERS, DATA], bodyless: false },
    { name: 'HEAD: one HEADERS frame with END_STREAM', method: 'HEAD', path: '/', want: [HEADERS], bodyless: true },
    { name: '204: one HEADERS frame with END_STREAM', method: 'GET', path: '/empty', want: [HEADERS], bodyless: true },
  ];
  for (const c of frameCases) {
    t.test(c.name, async (t) => {
      const frames = await rawRequest(gw.port, c.method, authority, c.path);
      t.same(frames.map((f) => f.type), c.want, 'frame types');
      t.equal(frames[frames.length - 1].flags & END_STREAM, END_STREAM, 'the last one ends the stream');
      if (!c.bodyless) t.ok(frames[1].length > 0, 'the DATA frame carries the body');
      const record = await lastRecord();
      t.ok(record.ex.res instanceof H2Response, 'served as a plain stream');
      t.equal(record.aborted, false, 'recorded as complete');
    });
  }

  const cases = [
    { name: 'GET, plain router', headers: { ':path': '/p?q=1', ':authority': authority }, status: 200, plain: true },
    { name: 'unknown host: 404', headers: { ':path': '/', ':authority': `nobody.test:${gw.port}` }, status: 404, plain: true },
    // Refused before routing: answered on the stream, and (as on every front end) not recorded.
    { name: 'encoded slash: 400 from hygiene', headers: { ':path': '/a%2fb', ':authority': authority }, status: 400, plain: true, unrecorded: true },
    { name: 'a repeated Content-Type from the backend: 502', headers: { ':path': '/two-types', ':authority': authority }, status: 502, plain: true },
    { name: 'router with compress: compatibility API', headers: { ':path': '/', ':authority': `gzip.test:${gw.port}`, 'accept-encoding': 'gzip' }, status: 200, plain: false },
    { name: 'a body: compatibility API', headers: { ':method': 'POST', ':path': '/', ':authority': authority }, body: 'hello', status: 200, plain: false },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const before = records.length;
      const a = await nodeRequest(gw.port, c.headers, c.body);
      t.equal(a.status, c.status, `status ${c.status}`);
      const record = await lastRecord();
      if (c.unrecorded) return t.equal(records.length, before, 'no record');
      t.equal(record.status, c.status, 'recorded status');
      t.equal(record.bytesOut, Buffer.byteLength(a.body), 'recorded body bytes are what the client got');
      t.equal(record.ex.res instanceof H2Response, c.plain, c.plain ? 'served as a plain stream' : "served through Node's compatibility API");
      if (c.body) t.equal(JSON.parse(a.body).body, c.body, 'the body reached the backend');
    });
  }
});
