import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real gRPC server and client (@grpc/grpc-js) for the gRPC tests: one
 * Echo service with the four call kinds, and the standard health service
 * (grpc.health.v1), whose answer the test sets.
 */

const ECHO_PROTO = `syntax = "proto3";
package portier.test;
service Echo {
  rpc Unary (Msg) returns (Msg);
  rpc ServerStream (Msg) returns (stream Msg);
  rpc ClientStream (stream Msg) returns (Msg);
  rpc Bidi (stream Msg) returns (stream Msg);
}
message Msg {
  string text = 1;
  bytes data = 2;
  int32 count = 3;
  int32 size = 4;
  int32 code = 5;
  int32 delay_ms = 6;
  string authority = 7;
}
`;

const HEALTH_PROTO = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;

export interface Msg {
  text?: string;
  data?: Buffer;
  count?: number;
  size?: number;
  code?: number;
  delay_ms?: number;
  authority?: string;
}

type ClientCtor = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => grpc.Client;

function load(): { Echo: ClientCtor & { service: grpc.ServiceDefinition }; Health: ClientCtor & { service: grpc.ServiceDefinition } } {
  const dir = mkdtempSync(join(tmpdir(), 'portier-proto-'));
  try {
    writeFileSync(join(dir, 'echo.proto'), ECHO_PROTO);
    writeFileSync(join(dir, 'health.proto'), HEALTH_PROTO);
    const opts = { keepCase: true, longs: Number, enums: String, defaults: true };
    const echo = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'echo.proto'), opts)) as any;
    const health = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'health.proto'), opts)) as any;
    return { Echo: echo.portier.test.Echo, Health: health.grpc.health.v1.Health };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const PROTOS = load();

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface GrpcBackend {
  port: number;
  /** `h2c://127.0.0.1:<port>` */
  url: string;
  server: grpc.Server;
  /** What the health service answers (SERVING by default). */
  health: { status: 'SERVING' | 'NOT_SERVING' };
  /** Server-streaming calls whose writes are waiting for the client (backpressure seen). */
  stats: { waitedForDrain: number; bytesSent: number };
  stop(): Promise<void>;
}

/** Writes `n` messages of `size` bytes, waiting for drain when grpc-js says its buffer is full. */
async function stream(call: grpc.ServerWritableStream<Msg, Msg> | grpc.ServerDuplexStream<Msg, Msg>, n: number, size: number, stats: GrpcBackend['stats'], die?: () => void): Promise<void> {
  const data = Buffer.alloc(size, 'x');
  for (let i = 0; i < n; i++) {
    if (die && i === Math.floor(n / 2)) return die();
    stats.bytesSent += size;
    if (!call.write({ text: String(i), data })) {
      stats.waitedForDrain++;
      await new Promise<void>((r) => call.once('drain', r));
    }
    if (call.cancelled) return;
  }
  call.end();
}

/** The Echo and Health services on 127.0.0.1, h2c. */
export async function startGrpcBackend(): Promise<GrpcBackend> {
  const server = new grpc.Server();
  const health: GrpcBackend['health'] = { status: 'SERVING' };
  const stats = { waitedForDrain: 0, bytesSent: 0 };
  server.addService(PROTOS.Echo.service, {
    Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      const m = call.request;
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'from-backend');
      void delay(m.delay_ms ?? 0).then(() => {
        if (call.cancelled) return;
        if (m.code) return cb({ code: m.code, details: `failed: ${m.text}` }, null, trailer);
        cb(null, { text: m.text, authority: call.getHost() }, trailer);
      });
    },
    ServerStream: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      const m = call.request;
      const die = m.text === 'die' ? () => server.forceShutdown() : undefined;
      void stream(call, m.count ?? 1, m.size ?? 1, stats, die);
    },
    ClientStream: (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      let count = 0;
      let size = 0;
      call.on('data', (m: Msg) => {
        count++;
        size += m.data?.length ?? 0;
      });
      call.on('end', () => cb(null, { count, size }));
    },
    Bidi: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (m: Msg) => call.write({ text: `echo ${m.text}`, data: m.data }));
      call.on('end', () => call.end());
    },
  });
  server.addService(PROTOS.Health.service, {
    Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: health.status }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    url: `h2c://127.0.0.1:${port}`,
    server,
    health,
    stats,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}

/** A client of the Echo service at `address` (host:port), plaintext or TLS with `ca` and the name `host`. */
export function echoClient(address: string, opts: { ca?: string; host?: string } = {}): grpc.Client & Record<string, any> {
  const creds = opts.ca ? grpc.credentials.createSsl(Buffer.from(opts.ca)) : grpc.credentials.createInsecure();
  const options: grpc.ChannelOptions = opts.host ? { 'grpc.default_authority': opts.host, ...(opts.ca ? { 'grpc.ssl_target_name_override': opts.host } : {}) } : {};
  return new PROTOS.Echo(address, creds, options) as grpc.Client & Record<string, any>;
}

/** A unary call as a promise: the reply and the trailing metadata, or the error (code, details). */
export function unary(client: grpc.Client & Record<string, any>, req: Msg, deadlineMs = 10_000): Promise<{ reply?: Msg; error?: grpc.ServiceError; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    const call = client.Unary(req, { deadline: Date.now() + deadlineMs }, (error: grpc.ServiceError | null, reply: Msg) => {
      setImmediate(() => resolve(error ? { error, trailers } : { reply, trailers }));
    });
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}
