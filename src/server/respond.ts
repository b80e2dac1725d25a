import { STATUS_CODES, type ServerResponse } from 'node:http';

/** The whole answer to a refused upgrade, written on its raw socket (no response object is bound to it any more). */
export const upgradeRefusal = (status: number): string => `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;

/** A short plain-text error answer; `close` also ends the connection (malformed requests). */
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
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}
