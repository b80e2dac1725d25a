import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The backend's whole answer: 12 bytes, the size every figure in docs/benchmarks.md is for. */
export const BODY = 'hello world\n';

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
function nginxLaunch(dir: string, name: string, http: string): Launch {
  const prefix = join(dir, name);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(prefix, t)};`).join(' ');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
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
  }`,
  );
}

/** nginx as a reverse proxy, one worker, keep-alive to the upstream (recipes/bench-peers.md). */
export function nginxProxyLaunch(dir: string, port: number, backend: number): Launch {
  return nginxLaunch(
    dir,
    'nginx-proxy',
    `  upstream be { server 127.0.0.1:${backend}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }`,
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
 * Prometheus metrics are recorded and served on their own entrypoint.
 */
export function portierLaunch(dir: string, name: string, port: number, backend: number, metricsPort?: number): Launch {
  const prefix = join(dir, name);
  mkdirSync(prefix, { recursive: true });
  const routes = join(prefix, 'routes.yaml');
  writeFileSync(
    routes,
    `http:
  routers:
    bench:
      rule: "PathPrefix(\`/\`)"
      entryPoints: [web]
      service: backend
  services:
    backend:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:${backend}"
`,
  );
  const config = join(prefix, 'portier.yaml');
  const metrics = metricsPort === undefined ? '' : `  metrics:\n    address: "127.0.0.1:${metricsPort}"\nmetrics:\n  prometheus: {}\n`;
  writeFileSync(
    config,
    `entryPoints:
  web:
    address: "127.0.0.1:${port}"
${metrics}providers:
  file:
    filename: ${JSON.stringify(routes)}
    watch: false
log:
  level: warn
`,
  );
  return { command: process.execPath, args: [join(__dirname, '..', '..', 'src', 'cli.js'), '--config', config] };
}
