/**
 * acme-client sends every request through one shared axios instance, so
 * what Portier needs of those requests is done by one request interceptor:
 *
 * - Trusting a private ACME CA (`caCertificates`, or pebble in tests) per
 *   server origin, instead of a process-wide agent that would change trust
 *   for every other resolver.
 * - Binding each request to the order that made it (the order runs inside
 *   `withAcmeScope`; async context follows it through acme-client): a
 *   stopped resolver's pending request is aborted, which destroys its
 *   socket, and no further request leaves; and a CA that accepts and never
 *   answers fails the order after a timeout instead of holding it forever.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import https from 'node:https';
import tls from 'node:tls';
import { acmeClient } from '../libraries';
import { PortierError } from '../errors';

export interface AcmeScope {
  /** Aborted when the resolver stops. */
  signal: AbortSignal;
  /** The longest one request may take. */
  timeoutMs: number;
}

const agents = new Map<string, https.Agent>();
const scopes = new AsyncLocalStorage<AcmeScope>();
let installed = false;

/** Trusts `caPems` (plus the system roots) for HTTPS requests to `directoryUrl`'s origin. */
export function trustAcmeServer(directoryUrl: string, caPems: string[]): void {
  agents.set(new URL(directoryUrl).origin, new https.Agent({ ca: [...tls.rootCertificates, ...caPems] }));
  install();
}

/** Runs `work`, whose acme-client requests are then bound to `scope`. */
export function withAcmeScope<T>(scope: AcmeScope, work: () => Promise<T>): Promise<T> {
  install();
  return scopes.run(scope, work);
}

function install(): void {
  if (installed) return;
  installed = true;
  acmeClient().axios.interceptors.request.use((config) => {
    const scope = scopes.getStore();
    if (scope) {
      // An error without `config`: acme-client's retry handler passes it on at once instead of pausing to resend.
      if (scope.signal.aborted) throw new PortierError('STOPPED', `ACME request to ${config.url} not sent: the resolver is stopping`);
      config.signal = scope.signal;
      config.timeout = scope.timeoutMs;
    }
    const agent = config.url ? agents.get(safeOrigin(config.url)) : undefined;
    if (agent) config.httpsAgent = agent;
    return config;
  });
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
