import http from 'node:http';
import httpProxy from 'http-proxy';

/**
 * The usual Node reverse proxy: http-proxy over Node's http client with a
 * keep-alive agent and nothing else (no routing, headers, timeouts or
 * metrics). Portier forwarded this way before its own upstream client; it
 * keeps http-proxy for WebSocket upgrades only.
 * Usage: node bare-proxy.js PORT BACKEND_PORT
 */
const [port, backend] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${backend}`, agent });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});
http.createServer((req, res) => proxy.web(req, res)).listen(port, '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
