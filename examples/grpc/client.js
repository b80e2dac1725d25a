// Calls the greeter through Portier: node examples/grpc/client.js [address] [authority]
//   default address 127.0.0.1:8092, authority greeter.localhost (the router's Host rule).
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const { greeter } = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(__dirname, 'greeter.proto'), { keepCase: true, defaults: true }));
const [address = '127.0.0.1:8092', authority = 'greeter.localhost'] = process.argv.slice(2);
const client = new greeter.Greeter(address, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });

client.Hello({ name: 'portier' }, { deadline: Date.now() + 5000 }, (err, reply) => {
  if (err) {
    console.error(`Hello failed: ${err.code} ${err.details}`);
    process.exit(1);
  }
  console.log(reply.message);
  const lines = [];
  const call = client.Count({ name: 'stream', times: 3 });
  call.on('data', (m) => lines.push(m.message));
  call.on('error', (e) => {
    console.error(`Count failed: ${e.code} ${e.details}`);
    process.exit(1);
  });
  call.on('end', () => {
    console.log(lines.join('\n'));
    client.close();
  });
});
