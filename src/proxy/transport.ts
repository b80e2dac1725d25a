import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { configError, errorMessage } from '../errors';
import { Origin, UpstreamPool, parseOrigin } from './upstream-pool';
import { H2Sessions } from './h2-sessions';

/** A client certificate and its key, PEM. */
export interface ClientCertificate {
  cert: string;
  key: string;
}

/** What a serversTransport sets, its files already read. */
export interface TransportOptions {
  /** Connect timeout; 504 when exceeded. */
  dialTimeoutMs: number;
  /** From request sent to response headers; 0 = none. 504 when exceeded. */
  responseHeaderTimeoutMs: number;
  /** Idle keep-alive sockets are closed after this, before a backend's own idle timeout would race a reuse. */
  idleConnTimeoutMs: number;
  maxIdleConnsPerHost: number;
  insecureSkipVerify: boolean;
  /** SNI and certificate name for TLS servers; default the URL's host name (none for an IP). */
  serverName?: string;
  /** PEM CA certificates that replace the system's for TLS servers. */
  rootCAs?: string[];
  /** Offered to TLS servers that ask for a client certificate. */
  certificates?: ClientCertificate[];
  /** `https:` servers are spoken to in HTTP/1.1 only, never offered h2 by ALPN (Traefik's `disableHTTP2`). */
  disableHTTP2?: boolean;
}

/** Traefik's defaults, but for an idle timeout that closes before a Node backend's own 5 s. */
export const TRANSPORT_DEFAULTS: TransportOptions = {
  dialTimeoutMs: 30_000,
  responseHeaderTimeoutMs: 60_000,
  idleConnTimeoutMs: 4_000,
  maxIdleConnsPerHost: 64,
  insecureSkipVerify: false,
};

/**
 * One serversTransport (or forwardAuth's `tls`) made real: its TLS client
 * settings, timeouts and connection pools, shared by everything that talks
 * to its servers (forwarding, WebSocket upgrades, health checks,
 * forwardAuth), so a certificate that one of them refuses is refused by all.
 * Portier's own client uses `pool`; Node's http client gets `agent()` or
 * `tlsFor()`. It holds no socket or timer until used, and closes when the
 * last user that `retain`ed it lets go.
 */
export class Transport {
  readonly pool: UpstreamPool;
  /** HTTP/2 sessions: `h2c:` servers, and `https:` ones whose ALPN picks h2. */
  readonly h2: H2Sessions;
  private readonly secureContext: tls.SecureContext;
  private readonly agents: { http?: http.Agent; https?: https.Agent } = {};
  /** Every server a pool connection may go to: closing drops their idle connections. */
  private readonly keys = new Set<string>();
  private users = 0;
  private isClosed = false;

  constructor(readonly options: TransportOptions) {
    // One context per transport: CAs and client keys are parsed once, not on every handshake.
    this.secureContext = tls.createSecureContext({
      ca: options.rootCAs,
      cert: options.certificates?.map((c) => c.cert),
      key: options.certificates?.map((c) => c.key),
    });
    this.pool = new UpstreamPool({ maxIdlePerOrigin: options.maxIdleConnsPerHost, idleTimeoutMs: options.idleConnTimeoutMs, tlsFor: (host) => this.tlsFor(host) });
    this.h2 = new H2Sessions({
      idleTimeoutMs: options.idleConnTimeoutMs,
      dialTimeoutMs: options.dialTimeoutMs,
      negotiate: !options.disableHTTP2,
      tlsFor: (host) => this.tlsFor(host),
      adopt: (origin, socket) => this.pool.adopt(origin, socket),
    });
  }

  /** Closed by its last user: a later configuration gets a new transport rather than this one. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Where `url`'s requests go through this transport's pool. */
  origin(url: string, preservePath: boolean): Origin {
    this.keys.add(url);
    return parseOrigin(url, preservePath);
  }

  /**
   * The TLS options of every connection through this transport (its pool's,
   * its agent's, health checks'). The server name is serverName, else the
   * host unless it is an IP address; never Node's default for its http
   * client, the Host header, which a request passing the client's Host on
   * would otherwise send as SNI.
   */
  tlsFor(host: string): tls.ConnectionOptions {
    const bare = host.replace(/^\[|\]$/g, '');
    return {
      secureContext: this.secureContext,
      rejectUnauthorized: !this.options.insecureSkipVerify,
      // An empty name sends no SNI and checks the certificate against the address itself.
      servername: this.options.serverName ?? (net.isIP(bare) ? '' : bare),
    };
  }

  /** A keep-alive agent for Node's http client to this transport's `http:` or `https:` servers. */
  agent(secure: boolean): http.Agent {
    const opts = { keepAlive: true, maxFreeSockets: this.options.maxIdleConnsPerHost };
    if (secure) return (this.agents.https ??= new TransportAgent(this, opts));
    return (this.agents.http ??= new http.Agent(opts));
  }

  retain(): this {
    this.users++;
    return this;
  }

  /**
   * A user is done. The last one closes the transport: `force` (shutdown)
   * destroys every connection; otherwise idle ones close now, and those in
   * use finish their exchange (then Node's close at once, pooled ones
   * within idleConnTimeout, as the pool sweeps them).
   */
  release(force: boolean): void {
    if (--this.users > 0 || this.isClosed) return;
    this.isClosed = true;
    if (force) this.pool.close();
    else for (const key of this.keys) this.pool.dropIdle(key);
    this.h2.close(force);
    for (const agent of Object.values(this.agents)) {
      if (force) agent.destroy();
      else {
        for (const sockets of Object.values(agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
        // A socket whose request ends later is then destroyed rather than kept.
        agent.maxFreeSockets = 0;
      }
    }
  }
}

/** Node's https client with a transport's TLS settings, whatever the request's own options say. */
class TransportAgent extends https.Agent {
  constructor(
    private readonly transport: Transport,
    opts: https.AgentOptions,
  ) {
    super(opts);
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return super.createConnection({ ...options, ...this.transport.tlsFor(options.host ?? '') }, callback);
  }
}

/** A CA file of a transport (`rootCAs`, forwardAuth's `tls.ca`); `path` names its field in errors. */
export function loadCa(file: string, path: string): string {
  const pem = readPem(file, path, 'certificate');
  parse(path, file, () => new crypto.X509Certificate(pem));
  return pem;
}

/** A client certificate and its key from their files; errors name the field at fault. */
export function loadClientCertificate(certFile: string, certPath: string, keyFile: string, keyPath: string): ClientCertificate {
  const cert = readPem(certFile, certPath, 'certificate');
  const key = readPem(keyFile, keyPath, 'private key');
  const x509 = parse(certPath, certFile, () => new crypto.X509Certificate(cert));
  const privateKey = parse(keyPath, keyFile, () => crypto.createPrivateKey(key));
  if (!x509.checkPrivateKey(privateKey)) throw configError(keyPath, `${keyFile} is not the key of ${certFile}`);
  return { cert, key };
}

const PEM = {
  certificate: /-----BEGIN CERTIFICATE-----/,
  // PKCS#8, or the algorithm's own form (`EC PRIVATE KEY`, `RSA PRIVATE KEY`).
  'private key': /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
};

function readPem(file: string, path: string, kind: keyof typeof PEM): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw configError(path, `cannot read ${file}: ${errorMessage(err)}`);
  }
  if (!PEM[kind].test(text)) throw configError(path, `${file} holds no PEM ${kind}`);
  return text;
}

function parse<T>(path: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw configError(path, `${file}: ${errorMessage(err)}`);
  }
}
