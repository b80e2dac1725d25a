// A dev server as `portier run` starts it: it listens on $PORT on 127.0.0.1 and stops on Ctrl-C.
const http = require('node:http');

const port = Number(process.env.PORT);
if (!port) {
  console.error('PORT is not set: start me with `portier run -- node server.js`');
  process.exit(2);
}
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(`hello-run on port ${port}: ${req.method} ${req.url} for ${req.headers.host}\n`);
});
server.listen(port, '127.0.0.1', () => console.log(`hello-run listening on 127.0.0.1:${port}`));
process.on('SIGINT', () => {
  console.log('hello-run: SIGINT, stopping');
  server.closeAllConnections();
  server.close(() => process.exit(130));
});
