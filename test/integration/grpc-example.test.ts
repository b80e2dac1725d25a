import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { DynamicConfig } from '../../src/dynamic/model';
import { configFromContainers } from '../../src/dynamic/labels';
import { startTestGateway } from '../helpers/gateway';
import { deadPort } from '../helpers/dead-peers';

const DIR = join(__dirname, '../../examples/grpc');

/** examples/grpc as its README runs it: server.js behind dynamic.yaml, client.js through the gateway. */
t.test('examples/grpc: the file configuration serves client.js', async (t) => {
  const port = await deadPort();
  const server = spawn(process.execPath, [join(DIR, 'server.js')], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void server.kill());
  await new Promise<void>((resolve, reject) => {
    server.stdout.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    server.once('exit', (code) => reject(new Error(`server.js exited ${code}`)));
  });
  const dynamic = YAML.parse(readFileSync(join(DIR, 'dynamic.yaml'), 'utf8').replace('h2c://127.0.0.1:50051', `h2c://127.0.0.1:${port}`)) as DynamicConfig;
  const gw = await startTestGateway(dynamic);
  t.teardown(() => gw.close());
  for (const name of ['greeter', 'greeter-tls', 'greeter-web']) t.same(gw.router(name)?.errors, [], `router ${name} is enabled`);
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [join(DIR, 'client.js'), `127.0.0.1:${gw.port}`, 'greeter.localhost'], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout))),
  );
  t.equal(out, 'hello portier, via greeter.localhost\n1 stream\n2 stream\n3 stream\n', 'the unary and the streaming call, as the README shows');
});

t.test('examples/grpc/stack.yml: the labels make an h2c service with gRPC health checks', async (t) => {
  const stack = YAML.parse(readFileSync(join(DIR, 'stack.yml'), 'utf8')) as { services: { greeter: { labels: Record<string, string> } } };
  const r = configFromContainers([{ id: 'c1', name: 'grpc-greeter-1', labels: stack.services.greeter.labels, address: '127.0.0.1', ports: [41000], ready: true }], {
    prefixes: ['portier', 'traefik'],
    exposedByDefault: true,
  });
  t.same(r.errors, {}, 'no errors');
  const lb = r.config.http?.services?.greeter?.loadBalancer;
  t.same(lb?.servers, [{ url: 'h2c://127.0.0.1:41000' }], 'the replica as an h2c server');
  t.equal(lb?.healthCheck?.mode, 'grpc', 'checked with the gRPC health protocol');
});
