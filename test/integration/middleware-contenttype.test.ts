import t from 'tap';
import { middlewareBench } from './middleware-fixtures';

const bodies: Record<string, Buffer> = {
  '/html': Buffer.from('  <!DOCTYPE html><html><body>hi</body></html>'),
  '/xml': Buffer.from('<?xml version="1.0"?><a/>'),
  '/png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
  '/pdf': Buffer.from('%PDF-1.7 ...'),
  '/text': Buffer.from('just words\n'),
  '/binary': Buffer.from([1, 2, 3, 0, 255]),
};

t.test('contentType sniffs a missing Content-Type, only where it is used', async (t) => {
  const bench = await middlewareBench(
    t,
    { ct: { contentType: {} }, v2off: { contentType: { autoDetect: 'false' } }, gz: { compress: { minResponseBodyBytes: 0 } } },
    { ct: ['ct'], plain: [], v2off: ['v2off'], zipped: ['gz', 'ct'] },
    {
      backend: (req, res) => {
        if (req.url === '/typed') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not really</html>');
          return true;
        }
        if (req.url === '/empty') {
          res.writeHead(204).end();
          return true;
        }
        const body = bodies[req.url ?? ''];
        if (!body) return false;
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
        return true;
      },
    },
  );
  const cases = [
    { router: 'ct', path: '/html', type: 'text/html; charset=utf-8' },
    { router: 'ct', path: '/xml', type: 'text/xml; charset=utf-8' },
    { router: 'ct', path: '/png', type: 'image/png' },
    { router: 'ct', path: '/pdf', type: 'application/pdf' },
    { router: 'ct', path: '/text', type: 'text/plain; charset=utf-8' },
    { router: 'ct', path: '/binary', type: 'application/octet-stream' },
    { router: 'ct', path: '/typed', type: 'application/json' },
    { router: 'ct', path: '/empty', type: undefined },
    { router: 'plain', path: '/html', type: undefined },
    { router: 'v2off', path: '/html', type: undefined },
    { router: 'zipped', path: '/text', type: 'text/plain; charset=utf-8', encoding: 'gzip' },
  ];
  for (const c of cases) {
    const reply = await bench.send(c.router, c.path, { headers: c.encoding ? { 'accept-encoding': c.encoding } : {} });
    t.equal(reply.headers['content-type'], c.type, `${c.router}${c.path}: Content-Type`);
    if (c.encoding) t.equal(reply.headers['content-encoding'], c.encoding, `${c.router}${c.path}: sniffed before compression`);
    else if (c.path !== '/typed' && c.path !== '/empty') t.equal(Buffer.from(reply.body, 'latin1').length > 0, true, `${c.router}${c.path}: body intact`);
  }
  t.equal((await bench.send('ct', '/text')).body, 'just words\n', 'body unchanged');
});

t.test('invalid contentType options disable their routers', async (t) => {
  const bench = await middlewareBench(t, { bad: { contentType: { autoDetect: 'maybe' } }, unknown: { contentType: { sniff: true } } }, { bad: ['bad'], unknown: ['unknown'] });
  const cases = [
    { router: 'bad', error: /contentType\.autoDetect: expected true or false/ },
    { router: 'unknown', error: /contentType\.sniff: unknown key/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
