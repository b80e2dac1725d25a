// The example stacks' app: answers every request with the name of the replica
// that served it, so a browser or curl shows the load balancer at work. The
// runtime core gives it PORT, HOST and PORTIER_REPLICA.
const http = require('node:http');

const name = process.env.PORTIER_REPLICA || 'hello';
const greeting = process.env.GREETING || 'hello from';
const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'x-replica': name });
  res.end(`${greeting} ${name}\n`);
});

server.listen(port, host, () => console.log(`${name} listening on http://${host}:${port}/`));

// On SIGTERM finish the requests in flight, then leave.
process.on('SIGTERM', () => {
  console.log(`${name} stopping`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
