import http, { IncomingMessage, ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import type { Exchange, Handler } from '../proxy/exchange';
import { newOrigin } from '../proxy/exchange';
import { requestAnswer, requestError } from '../errors';
import { sendError } from '../server/respond';
import type { PreRouting } from '../server/entrypoint';
import type { Logger } from '../log/logger';

/**
 * The API, dashboard, metrics and ACME HTTP-01 answers live in the primary
 * (one state for the group); a worker's `name@internal` services send the
 * request, after its router's middlewares ran in the worker, to the
 * primary over a unix socket, with what the worker's exchange knew of it.
 */

const HEADER = 'x-portier-internal';

/** The request's facts as the worker's exchange had them. */
interface Forwarded {
  service: string;
  entryPoint: string;
  tls: boolean;
  remoteIp: string;
  clientIp: string;
  host: string;
}

/** The service the primary answers ACME HTTP-01 challenges as. */
const CHALLENGE = 'acme-challenge';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

/** A worker's handler for one internal service: the primary's answer, streamed back. */
export function toPrimary(socketPath: string, service: string): Handler {
  return (ex) => forward(socketPath, ex.req, ex.res, {
    service, entryPoint: ex.entryPoint, tls: ex.tls, remoteIp: ex.remoteIp, clientIp: ex.clientIp, host: ex.match.host,
  }, `${ex.path}${ex.query ? `?${ex.query}` : ''}`);
}

/** A worker's pre-routing step on an ACME HTTP-01 entrypoint: the primary holds the tokens. */
export function challengesToPrimary(socketPath: string, entryPoint: string, pathPrefix: string): PreRouting {
  return {
    entryPoint,
    pathPrefix,
    answer: (req, res, ex) => {
      if (!req.url?.startsWith(pathPrefix)) return false;
      void forward(socketPath, req, res, { service: CHALLENGE, entryPoint, tls: ex.tls, remoteIp: ex.remoteIp, clientIp: ex.clientIp, host: ex.match.host }, req.url).catch(() => sendError(res, 502, 'Bad Gateway'));
      return true;
    },
  };
}

function forward(socketPath: string, req: IncomingMessage, res: ServerResponse, facts: Forwarded, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // HTTP/2's pseudo-header fields are not fields of the HTTP/1.1 request to the primary.
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')));
    const up = http.request({ socketPath, method: req.method, path: target, headers: { ...headers, [HEADER]: JSON.stringify(facts) } });
    up.on('response', (answer) => {
      const fields = Object.fromEntries(Object.entries(answer.headers).filter(([k]) => !HOP_BY_HOP.has(k)));
      res.writeHead(answer.statusCode ?? 502, fields);
      answer.pipe(res);
      answer.once('end', () => resolve());
      // The primary cut it (an event stream when the group stops): the client's response ends too.
      answer.once('close', () => {
        if (!answer.complete) res.destroy();
        resolve();
      });
      // The client left (an event stream closed): the primary's side goes too.
      res.once('close', () => {
        answer.destroy();
        resolve();
      });
    });
    up.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        resolve();
      } else reject(requestError('UPSTREAM_REFUSED', `the primary did not answer: ${err.message}`));
    });
    req.pipe(up);
  });
}

export interface InternalServer {
  close(): Promise<void>;
}

/**
 * The primary's side: answers each forwarded request with its own
 * internal service of that name (`prometheus@internal` with the group's
 * metrics, from `metrics`), given an exchange built from the worker's facts.
 */
export function serveInternal(
  socketPath: string,
  services: Record<string, Handler>,
  special: { challenge: (req: IncomingMessage, res: ServerResponse) => boolean; metrics?: Handler },
  log: Logger,
): Promise<InternalServer> {
  rmSync(socketPath, { force: true });
  const server = http.createServer((req, res) => {
    let facts: Forwarded;
    try {
      facts = JSON.parse(String(req.headers[HEADER])) as Forwarded;
    } catch {
      return sendError(res, 400, 'Bad Request');
    }
    delete req.headers[HEADER];
    if (facts.service === CHALLENGE) {
      if (!special.challenge(req, res)) sendError(res, 404, '404 page not found');
      return;
    }
    const handler = (facts.service === 'prometheus@internal' && special.metrics) || services[facts.service];
    if (!handler) return sendError(res, 404, '404 page not found');
    handler(exchangeOf(req, res, facts)).catch((err: unknown) => {
      const { status, text } = requestAnswer(err);
      log.debug('internal service failed', { service: facts.service, status });
      sendError(res, status, text);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
            rmSync(socketPath, { force: true });
          }),
      });
    });
  });
}

function exchangeOf(req: IncomingMessage, res: ServerResponse, f: Forwarded): Exchange {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  return {
    req, res, entryPoint: f.entryPoint, tls: f.tls, remoteIp: f.remoteIp, clientIp: f.clientIp,
    match: { host: f.host, path, method: req.method ?? 'GET', headers: req.headers, query, clientIp: f.remoteIp },
    path, query, startedAt: 0n, routerName: undefined, serviceName: f.service, retryAttempts: 0, responseHooks: [], origin: newOrigin(), fieldsAsParsed: false,
  };
}
