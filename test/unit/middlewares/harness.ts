import type { Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Exchange, Handler, newOrigin } from '../../../src/proxy/exchange';
import { requestError, PortierError } from '../../../src/errors';

/**
 * A real loopback HTTP server that turns each request into an Exchange and
 * runs `handler` on it, mapping a rejection to its status the way the
 * entrypoint does. For middleware logic that needs a real request and
 * response but a scripted upstream.
 */
export async function exchangeServer(t: Test, handler: Handler): Promise<string> {
  const server = http.createServer((req, res) => {
    const [path, query = ''] = (req.url ?? '/').split('?');
    const ex: Exchange = {
      req, res, entryPoint: 'web', tls: false, remoteIp: '127.0.0.1', clientIp: '127.0.0.1',
      match: { host: 'test', path, method: req.method ?? 'GET', headers: req.headers, query, clientIp: '127.0.0.1' },
      path, query, startedAt: process.hrtime.bigint(), retryAttempts: 0, responseHooks: [], origin: newOrigin(), fieldsAsParsed: false,
    };
    handler(ex).catch((err: unknown) => {
      const status = err instanceof PortierError && err.status ? err.status : 500;
      if (res.headersSent) res.destroy();
      else res.writeHead(status).end(`${status}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An upstream stand-in that fails `failures` times with a connection error, then answers. */
export function flakyHandler(failures: number, answer: (ex: Exchange) => void): Handler & { calls: number } {
  const h = Object.assign(
    async (ex: Exchange): Promise<void> => {
      h.calls++;
      if (h.calls <= failures) throw requestError('UPSTREAM_REFUSED');
      answer(ex);
    },
    { calls: 0 },
  );
  return h;
}
