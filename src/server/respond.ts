import { STATUS_CODES, type ServerResponse } from 'node:http';
import { isH2Response } from './node-response';

/** The whole answer to a refused upgrade, written on its raw socket (no response object is bound to it any more). */
export const upgradeRefusal = (status: number): string => `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;

/** A short plain-text error answer; `close` also ends the connection (malformed requests), on HTTP/1: an HTTP/2 stream ends alone. */
export function sendError(res: ServerResponse, status: number, text: string, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    ...(close && !isH2Response(res) ? { connection: 'close' } : {}),
  });
  res.end(body);
}
