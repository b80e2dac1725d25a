import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type Dockerode from 'dockerode';
import { PortierError } from '../../src/errors';

/**
 * Where the engine is and how to reach it: the configured endpoint, else
 * DOCKER_HOST, else the default socket. tcp:// uses TLS when client
 * certificates are configured or DOCKER_TLS_VERIFY/DOCKER_CERT_PATH say so.
 */
export interface Endpoint {
  /** For log lines: never includes key material. */
  display: string;
  options: Dockerode.DockerOptions;
}

export interface EndpointInput {
  endpoint?: string;
  tls?: { ca?: string; cert?: string; key?: string };
}

export function resolveEndpoint(o: EndpointInput, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const raw = o.endpoint ?? (env.DOCKER_HOST || 'unix:///var/run/docker.sock');
  const m = /^([a-z0-9+]+):\/\/(.*)$/i.exec(raw);
  if (!m) throw new PortierError('CONFIG_INVALID', `unsupported docker endpoint ${JSON.stringify(raw)}`, { path: 'endpoint' });
  const scheme = m[1].toLowerCase();
  if (scheme === 'unix') return { display: raw, options: { socketPath: m[2] } };
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'https') {
    throw new PortierError('CONFIG_INVALID', `unsupported docker endpoint scheme ${scheme}:// (use unix://, tcp://, http:// or https://)`, { path: 'endpoint' });
  }
  const url = new URL(`http://${m[2]}`);
  const certDir = env.DOCKER_CERT_PATH;
  const envTls = !!env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0';
  const files = {
    ca: o.tls?.ca ?? (certDir && envTls ? path.join(certDir, 'ca.pem') : undefined),
    cert: o.tls?.cert ?? (certDir ? path.join(certDir, 'cert.pem') : undefined),
    key: o.tls?.key ?? (certDir ? path.join(certDir, 'key.pem') : undefined),
  };
  const useTls = scheme === 'https' || !!o.tls || envTls;
  const port = url.port || (useTls ? '2376' : '2375');
  const options: Dockerode.DockerOptions = { host: url.hostname.replace(/^\[|\]$/g, ''), port, protocol: useTls ? 'https' : 'http' };
  if (useTls) {
    const read = (file: string | undefined, what: string): Buffer | undefined => {
      if (!file) return undefined;
      try {
        return readFileSync(file);
      } catch (err) {
        throw new PortierError('CONFIG_INVALID', `cannot read TLS ${what} ${file}: ${(err as Error).message}`, { path: `tls.${what}` });
      }
    };
    Object.assign(options, { ca: read(files.ca, 'ca'), cert: read(files.cert, 'cert'), key: read(files.key, 'key') });
  }
  return { display: `${useTls ? 'tcp+tls' : 'tcp'}://${url.host}`, options };
}
