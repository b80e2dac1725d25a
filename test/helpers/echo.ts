import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoRecord {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface EchoBackend {
  url: string;
  port: number;
  /** Every request the backend received, in order. */
  requests: EchoRecord[];
  close(): Promise<void>;
}

/**
 * A real backend on 127.0.0.1:0 that answers every request with JSON of what
 * it received (method, url, headers, body) and `x-backend: <name>`.
 * `respond` may take over a request (status codes, slow or broken answers).
 */
export async function startEchoBackend(
  name = 'echo',
  respond?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean,
): Promise<EchoBackend> {
  const requests: EchoRecord[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const record = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(record);
      if (respond?.(req, res, body)) return;
      const payload = JSON.stringify({ name, ...record });
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name, 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
