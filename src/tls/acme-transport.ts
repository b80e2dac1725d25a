/**
 * acme-client sends every request through one shared axios instance, so
 * trusting a private ACME CA (`caCertificates`, or pebble in tests) is done
 * per server origin by one request interceptor instead of a process-wide
 * agent that would change trust for every other resolver.
 */
import https from 'node:https';
import tls from 'node:tls';
import * as acme from 'acme-client';

const agents = new Map<string, https.Agent>();
let installed = false;

/** Trusts `caPems` (plus the system roots) for HTTPS requests to `directoryUrl`'s origin. */
export function trustAcmeServer(directoryUrl: string, caPems: string[]): void {
  agents.set(new URL(directoryUrl).origin, new https.Agent({ ca: [...tls.rootCertificates, ...caPems] }));
  if (installed) return;
  installed = true;
  acme.axios.interceptors.request.use((config) => {
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
