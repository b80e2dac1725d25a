// A gRPC server in plaintext HTTP/2 (h2c) with the standard health service, for examples/grpc.
//   PORT=50051 node examples/grpc/server.js
// Needs the dev dependencies (@grpc/grpc-js, @grpc/proto-loader): npm ci.
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(path.join(__dirname, file), { keepCase: true, enums: String, defaults: true }));
const { greeter } = load('greeter.proto');
const health = load('health.proto').grpc.health.v1;

const server = new grpc.Server();
server.addService(greeter.Greeter.service, {
  Hello: (call, cb) => cb(null, { message: `hello ${call.request.name}, via ${call.getHost()}` }),
  Count: (call) => {
    for (let i = 1; i <= (call.request.times || 3); i++) call.write({ message: `${i} ${call.request.name}` });
    call.end();
  },
});
server.addService(health.Health.service, { Check: (_call, cb) => cb(null, { status: 'SERVING' }) });
server.bindAsync(`127.0.0.1:${process.env.PORT || 50051}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`greeter listening on 127.0.0.1:${port} (h2c)`);
});
