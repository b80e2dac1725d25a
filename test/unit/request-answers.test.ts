import t from 'tap';
import { PortierError, requestAnswer, requestError } from '../../src/errors';
import { UpstreamFailure } from '../../src/proxy/upstream-call';

/** Every request error is answered from the catalogue: its status, and the client sees only what concerns its request. */
t.test('request errors: status and answer from one catalogue', async (t) => {
  const secret = new Error('connect ECONNREFUSED 10.0.0.7:8080');
  const cases: { name: string; err: unknown; status: number; text: string }[] = [
    { name: 'no router', err: requestError('NO_ROUTE'), status: 404, text: '404 page not found' },
    { name: 'no server', err: requestError('NO_SERVER', 'no available server'), status: 503, text: 'Service Unavailable' },
    { name: 'refused upstream, its address kept back', err: new UpstreamFailure('UPSTREAM_REFUSED', true, false, secret), status: 502, text: 'Bad Gateway' },
    { name: 'invalid upstream response', err: new UpstreamFailure('UPSTREAM_INVALID', false, false, new Error('bare LF at byte 9')), status: 502, text: 'Bad Gateway' },
    { name: 'upstream timeout', err: new UpstreamFailure('UPSTREAM_TIMEOUT', false, false, secret), status: 504, text: 'Gateway Timeout' },
    { name: 'malformed request, its reason told', err: new PortierError('BAD_REQUEST', 'more than one Host header'), status: 400, text: 'more than one Host header' },
    { name: 'head too large', err: new PortierError('HEAD_TOO_LARGE', 'request head over 16384 bytes'), status: 431, text: 'request head over 16384 bytes' },
    { name: 'body too large', err: requestError('BODY_TOO_LARGE'), status: 413, text: 'Request Entity Too Large' },
    { name: 'HTTP version', err: new PortierError('HTTP_VERSION', 'HTTP/2.0 is not supported'), status: 505, text: 'HTTP/2.0 is not supported' },
    { name: 'transfer coding', err: new PortierError('CODING_UNSUPPORTED', 'unsupported Transfer-Encoding "gzip"'), status: 501, text: 'unsupported Transfer-Encoding "gzip"' },
    { name: 'stopping', err: requestError('STOPPED'), status: 503, text: 'Service Unavailable' },
    { name: 'a configuration error reaching a request', err: new PortierError('CONFIG_INVALID', 'x: bad', { path: 'x' }), status: 500, text: 'Internal Server Error' },
    { name: 'an unforeseen exception', err: new TypeError("Cannot read properties of undefined (reading 'x')"), status: 500, text: 'Internal Server Error' },
    { name: 'a thrown string', err: 'boom', status: 500, text: 'Internal Server Error' },
  ];
  for (const c of cases) {
    t.same(requestAnswer(c.err), { status: c.status, text: c.text }, c.name);
    if (c.err instanceof PortierError && c.status !== 500) t.equal(c.err.status, c.status, `${c.name}: the error carries its status`);
  }
});
