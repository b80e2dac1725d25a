import t from 'tap';
import http from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { middlewareBench } from './middleware-fixtures';

const text = 'portier compresses this line of text. '.repeat(200);
const json = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) });

let releaseStream: () => void = () => undefined;
const streamReleased = new Promise<void>((resolve) => (releaseStream = resolve));

/** Backend answers by path: sizes, content types, chunked or not. */
function backend(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  const path = req.url ?? '/';
  const send = (status: number, headers: http.OutgoingHttpHeaders, body: string): void => {
    res.writeHead(status, headers);
    res.end(body);
  };
  switch (path) {
    case '/big': send(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) }, text); return true;
    case '/json': send(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) }, json); return true;
    case '/small': send(200, { 'content-type': 'text/plain', 'content-length': 100 }, 'x'.repeat(100)); return true;
    case '/grpc': send(200, { 'content-type': 'application/grpc', 'content-length': Buffer.byteLength(text) }, text); return true;
    case '/precompressed': send(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, 'not really gzip'); return true;
    case '/chunked-big':
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 8; i++) res.write(text.slice(i * 1000, (i + 1) * 1000));
      res.end();
      return true;
    case '/chunked-small':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('tiny ');
      res.end('body');
      return true;
    case '/stream':
      // Half a megabyte of incompressible data, then the end only once the client has received something: a compressor that buffers the whole body never gets there.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(randomBytes(384 * 1024).toString('base64'));
      void streamReleased.then(() => res.end('END'));
      return true;
    default:
      return false;
  }
}

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function fetchRaw(url: string, host: string, headers: http.OutgoingHttpHeaders, method = 'GET', onFirstByte?: () => void): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { host, ...headers }, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (chunks.length === 0) onFirstByte?.();
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

const decode = (r: Raw): string => {
  const enc = r.headers['content-encoding'];
  if (enc === 'gzip') return gunzipSync(r.body).toString();
  if (enc === 'br') return brotliDecompressSync(r.body).toString();
  return r.body.toString();
};

t.test('compress negotiates gzip/br, streams, and skips what must not be compressed', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      c: { compress: {} },
      gzonly: { compress: { encodings: ['gzip'] } },
      excl: { compress: { excludedContentTypes: ['text/plain'] } },
      incl: { compress: { includedContentTypes: ['application/json'] } },
      tiny: { compress: { minResponseBodyBytes: 10 } },
      deflt: { compress: { defaultEncoding: 'gzip' } },
    },
    { c: ['c'], gzonly: ['gzonly'], excl: ['excl'], incl: ['incl'], tiny: ['tiny'], deflt: ['deflt'] },
    { backend },
  );
  const cases = [
    { router: 'c', path: '/big', accept: 'gzip', encoding: 'gzip', body: text },
    { router: 'c', path: '/big', accept: 'br', encoding: 'br', body: text },
    { router: 'c', path: '/big', accept: 'gzip;q=0.5, br', encoding: 'br', body: text },
    { router: 'c', path: '/big', accept: 'br;q=0.1, gzip', encoding: 'gzip', body: text },
    { router: 'c', path: '/big', accept: 'gzip, deflate, br', encoding: 'br', body: text },
    { router: 'c', path: '/big', accept: '*', encoding: 'br', body: text },
    { router: 'c', path: '/big', accept: 'identity', encoding: undefined, body: text },
    { router: 'c', path: '/big', accept: 'gzip;q=0', encoding: undefined, body: text },
    { router: 'c', path: '/big', accept: undefined, encoding: undefined, body: text },
    { router: 'c', path: '/small', accept: 'gzip', encoding: undefined, body: 'x'.repeat(100) },
    { router: 'c', path: '/chunked-big', accept: 'gzip', encoding: 'gzip', body: text.slice(0, 8000) },
    { router: 'c', path: '/chunked-small', accept: 'gzip', encoding: undefined, body: 'tiny body' },
    { router: 'c', path: '/grpc', accept: 'gzip', encoding: undefined, body: text },
    { router: 'c', path: '/precompressed', accept: 'gzip', encoding: 'gzip', raw: 'not really gzip' },
    { router: 'gzonly', path: '/big', accept: 'br, gzip', encoding: 'gzip', body: text },
    { router: 'excl', path: '/big', accept: 'gzip', encoding: undefined, body: text },
    { router: 'excl', path: '/json', accept: 'gzip', encoding: 'gzip', body: json },
    { router: 'incl', path: '/big', accept: 'gzip', encoding: undefined, body: text },
    { router: 'incl', path: '/json', accept: 'gzip', encoding: 'gzip', body: json },
    { router: 'tiny', path: '/small', accept: 'gzip', encoding: 'gzip', body: 'x'.repeat(100) },
    { router: 'deflt', path: '/big', accept: undefined, encoding: 'gzip', body: text },
  ];
  for (const c of cases) {
    const what = `${c.router}${c.path} Accept-Encoding: ${c.accept ?? '(none)'}`;
    const r = await fetchRaw(bench.gw.url + c.path, `${c.router}.test`, c.accept ? { 'accept-encoding': c.accept } : {});
    t.equal(r.status, 200, `${what}: status`);
    t.equal(r.headers['content-encoding'], c.encoding, `${what}: encoding`);
    if (c.raw !== undefined) {
      t.equal(r.body.toString(), c.raw, `${what}: upstream encoding left alone`);
      continue;
    }
    t.equal(decode(r), c.body, `${what}: body`);
    if (c.encoding !== undefined && c.raw === undefined) {
      t.equal(r.headers['content-length'], undefined, `${what}: no stale Content-Length`);
      t.match(String(r.headers.vary), /Accept-Encoding/, `${what}: Vary`);
      t.ok(r.body.length < Buffer.byteLength(c.body), `${what}: smaller on the wire`);
    } else if (c.path !== '/chunked-small') {
      t.equal(Number(r.headers['content-length']), Buffer.byteLength(c.body), `${what}: Content-Length kept`);
    }
  }
  const head = await fetchRaw(bench.gw.url + '/big', 'c.test', { 'accept-encoding': 'gzip' }, 'HEAD');
  t.equal(head.headers['content-encoding'], undefined, 'HEAD is not compressed');

  const streamed = await fetchRaw(bench.gw.url + '/stream', 'c.test', { 'accept-encoding': 'gzip' }, 'GET', releaseStream);
  t.equal(streamed.headers['content-encoding'], 'gzip', 'a long body is compressed');
  t.match(decode(streamed), /END$/, 'and streamed: the client got bytes before the upstream finished');
});

t.test('invalid compress options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      both: { compress: { excludedContentTypes: ['text/plain'], includedContentTypes: ['application/json'] } },
      badmin: { compress: { minResponseBodyBytes: -1 } },
      badenc: { compress: { encodings: ['gzip', 'deflate'] } },
    },
    { both: ['both'], badmin: ['badmin'], badenc: ['badenc'] },
  );
  const cases = [
    { router: 'both', error: /compress\.includedContentTypes: cannot be combined with excludedContentTypes/ },
    { router: 'badmin', error: /compress\.minResponseBodyBytes: must not be negative/ },
    { router: 'badenc', error: /compress\.encodings\[1\]: expected gzip, br or zstd/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
