import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The backend's whole answer: 12 bytes, the size every figure in docs/benchmarks.md is for. */
export const BODY = 'hello world\n';

/** The header pair of the `headers` scenarios: one set on the request to the backend, one on the response. */
export const REQUEST_HEADER = { name: 'X-Req', value: '1' } as const;
export const RESPONSE_HEADER = { name: 'X-Bench', value: '1' } as const;

/**
 * The backend's second location: it answers with the value of the request
 * header the `headers` scenarios add (empty when absent), so the bench can
 * check before measuring that the header really reached the backend.
 */
export const CHECK_PATH = '/bench-check';
export const checkBody = (withRequestHeader: boolean): string => `x-req=${withRequestHeader ? REQUEST_HEADER.value : ''}\n`;

/** The one certificate every HTTPS target serves. */
export interface Certificate {
  certFile: string;
  keyFile: string;
  /** SHA-256 of the DER certificate, as Node's `getPeerCertificate().fingerprint256` prints it. */
  fingerprint256: string;
}

/**
 * A self-signed ECDSA P-256 certificate for localhost and 127.0.0.1, made
 * with openssl into `dir` at every bench start: nginx, Portier and the TLS
 * relay all serve this one, so the handshakes and record encryption they do
 * are the same.
 */
export function makeCertificate(dir: string): Certificate {
  const certFile = join(dir, 'bench.crt');
  const keyFile = join(dir, 'bench.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { certFile, keyFile, fingerprint256: new X509Certificate(readFileSync(certFile)).fingerprint256 };
}

/** How a proxy is set up in a scenario: plain or HTTPS, with or without the headers middleware. */
export interface ProxyOptions {
  /** Terminate TLS 1.3 with this certificate. */
  tls?: Certificate;
  /** Add `X-Req: 1` to the request and `X-Bench: 1` to the response. */
  headers?: boolean;
  /** nginx: offer HTTP/2 by ALPN on the TLS listener (`listen … ssl http2`, nginx 1.22's form of `http2 on`). */
  http2?: boolean;
  /** Processes serving: nginx's `worker_processes`, Portier's `workers` (1 when unset). */
  workers?: number;
}

/** A command line that starts one process of the bench, with the files it needs already written. */
export interface Launch {
  command: string;
  args: string[];
}

/**
 * nginx needs writable temp paths and an error log it can open before it
 * reads its configuration; every one of them goes into `dir`. `daemon off`
 * keeps the master as the process we started, so stopping it is by our PID.
 */
function nginxLaunch(dir: string, name: string, http: string, workers = 1): Launch {
  const prefix = join(dir, name);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(prefix, t)};`).join(' ');
  writeFileSync(
    conf,
    `daemon off;
worker_processes ${workers};
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${temp}
  # wrk's connections stay open for the whole run, as they do with the other targets.
  keepalive_requests 1000000;
${http}
}
`,
  );
  return { command: 'nginx', args: ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', conf] };
}

/** nginx answering the 12-byte body itself: a backend that costs far less than any proxy in front of it. */
export function backendLaunch(dir: string, port: number): Launch {
  return nginxLaunch(
    dir,
    'backend',
    `  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { default_type text/plain; return 200 "${BODY.replace('\n', '\\n')}"; }
    location = ${CHECK_PATH} { default_type text/plain; return 200 "x-req=$http_x_req\\n"; }
  }`,
  );
}

/**
 * nginx as a reverse proxy, one worker, keep-alive to the upstream
 * (recipes/bench-peers.md). With `tls`: `listen ssl`, TLS 1.3 only, the
 * bench's certificate, and HTTP/2 by ALPN with `http2` (requests per
 * HTTP/2 connection bounded by the same `keepalive_requests`). With `headers`: `proxy_set_header X-Req 1` and
 * `add_header X-Bench 1`, what Portier's `headers` middleware does.
 */
export function nginxProxyLaunch(dir: string, name: string, port: number, backend: number, opts: ProxyOptions = {}): Launch {
  const tls = opts.tls
    ? `
    ssl_certificate ${opts.tls.certFile};
    ssl_certificate_key ${opts.tls.keyFile};
    ssl_protocols TLSv1.3;`
    : '';
  const headers = opts.headers
    ? `
      proxy_set_header ${REQUEST_HEADER.name} ${REQUEST_HEADER.value};
      add_header ${RESPONSE_HEADER.name} ${RESPONSE_HEADER.value};`
    : '';
  return nginxLaunch(
    dir,
    name,
    `  upstream be { server 127.0.0.1:${backend}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port}${opts.tls ? ' ssl' : ''}${opts.http2 ? ' http2' : ''} backlog=4096;${tls}
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;${headers}
    }
  }`,
    opts.workers,
  );
}

/** HAProxy, one thread, server connections reused; `-db` keeps it in the foreground as our child. */
export function haproxyLaunch(dir: string, port: number, backend: number): Launch {
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:${backend}
`,
  );
  return { command: 'haproxy', args: ['-db', '-f', file] };
}

/**
 * The real gateway as a user runs it: `portier --config`, a file-provider
 * route to the backend, log level warn (no access log). With `metricsPort`,
 * Prometheus metrics are recorded and served on their own entrypoint. With
 * `headers`, the router has one `headers` middleware (custom request and
 * response header). With `tls`, the entrypoint has `http.tls` and the router
 * `tls: {}`; the bench's certificate is a file certificate and the default
 * one (so a client sending no SNI, or an IP address, gets it too), and the
 * default TLS options allow TLS 1.3 only, like nginx's `ssl_protocols TLSv1.3`.
 */
export function portierLaunch(dir: string, name: string, port: number, backend: number, opts: ProxyOptions & { metricsPort?: number } = {}): Launch {
  const prefix = join(dir, name);
  mkdirSync(prefix, { recursive: true });
  const routes = join(prefix, 'routes.yaml');
  const entryPoint = opts.tls ? 'websecure' : 'web';
  const middlewares = opts.headers
    ? `  middlewares:
    bench-headers:
      headers:
        customRequestHeaders:
          ${REQUEST_HEADER.name}: "${REQUEST_HEADER.value}"
        customResponseHeaders:
          ${RESPONSE_HEADER.name}: "${RESPONSE_HEADER.value}"
`
    : '';
  const tls = opts.tls
    ? `tls:
  certificates:
    - certFile: ${JSON.stringify(opts.tls.certFile)}
      keyFile: ${JSON.stringify(opts.tls.keyFile)}
  stores:
    default:
      defaultCertificate:
        certFile: ${JSON.stringify(opts.tls.certFile)}
        keyFile: ${JSON.stringify(opts.tls.keyFile)}
  options:
    default:
      minVersion: VersionTLS13
`
    : '';
  writeFileSync(
    routes,
    `http:
  routers:
    bench:
      rule: "PathPrefix(\`/\`)"
      entryPoints: [${entryPoint}]
      service: backend${opts.headers ? '\n      middlewares: [bench-headers]' : ''}${opts.tls ? '\n      tls: {}' : ''}
${middlewares}  services:
    backend:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:${backend}"
${tls}`,
  );
  const config = join(prefix, 'portier.yaml');
  const metrics = opts.metricsPort === undefined ? '' : `  metrics:\n    address: "127.0.0.1:${opts.metricsPort}"\nmetrics:\n  prometheus: {}\n`;
  writeFileSync(
    config,
    `${opts.workers ? `workers: ${opts.workers}\n` : ''}entryPoints:
  ${entryPoint}:
    address: "127.0.0.1:${port}"${opts.tls ? '\n    http:\n      tls: {}' : ''}
${metrics}providers:
  file:
    filename: ${JSON.stringify(routes)}
    watch: false
dataDir: ${JSON.stringify(join(prefix, 'data'))}
log:
  level: warn
`,
  );
  return { command: process.execPath, args: [join(__dirname, '..', '..', 'src', 'cli.js'), '--config', config] };
}
