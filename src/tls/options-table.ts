/**
 * Per-router TLS options, chosen before the handshake. OpenSSL takes the
 * protocol versions (and client-certificate settings) from the context a
 * handshake starts with, not from the one an SNI callback switches to; so
 * the entrypoint reads the ClientHello's server name first and hands the
 * connection to a TLS server built for that name's options. Names map to
 * options as in Traefik: each `Host()` of a router with `tls.options`;
 * routers that give one host different options make it use `default`
 * (logged). Servers are built once per configuration change and entrypoint;
 * they only handshake, then pass the socket to the entrypoint's own server
 * as if it had done so.
 */
import tls from 'node:tls';
import { PortierError } from '../errors';
import { Logger } from '../log/logger';
import { ChallengeRegistry } from './challenges';
import { ServedCertificate } from './certificate';
import { ClientAuth, clientAuthOf } from './client-auth';
import { httpsServerOptions, secureContextSettings, TlsOptions } from './server-options';
import { CertificateStore } from './store';

export interface RouterOptionsRef {
  name: string;
  hosts: readonly string[];
  /** `tls.options` as the router wrote it (`modern` or `modern@file`). */
  options?: string;
}

interface Compiled {
  opts: TlsOptions;
  clientAuth?: ClientAuth;
  /** Set when the options are invalid: handshakes for their hosts are refused rather than served with other options. */
  invalid?: string;
}

const choosers = new WeakMap<tls.Server, (serverName: string) => tls.Server>();

/** The server to hand a connection to for its SNI: the entrypoint's own one unless a router's options say otherwise. */
export function handshakeServerFor(main: tls.Server, serverName: string): tls.Server {
  return choosers.get(main)?.(serverName) ?? main;
}

const bareName = (ref: string): string => (ref.includes('@') ? ref.slice(0, ref.lastIndexOf('@')) : ref);

export class TlsOptionsTable {
  private byHost = new Map<string, string>();
  private compiled = new Map<string, Compiled>();
  /** Per entrypoint server, per options name; replaced as a whole on every change. */
  private built = new WeakMap<tls.Server, Map<string, tls.Server>>();

  constructor(
    private readonly store: CertificateStore,
    private readonly challenges: ChallengeRegistry,
    private readonly logger: Logger,
  ) {}

  /** Compiles every options set (errors name their fields) and the host map. */
  update(options: Record<string, TlsOptions>, routers: readonly RouterOptionsRef[]): PortierError[] {
    const errors: PortierError[] = [];
    const compiled = new Map<string, Compiled>();
    for (const [name, opts] of Object.entries(options)) {
      try {
        secureContextSettings(opts, `tls.options.${name}`);
        compiled.set(name, { opts, clientAuth: clientAuthOf(opts.clientAuth, `tls.options.${name}.clientAuth`) });
      } catch (err) {
        if (!(err instanceof PortierError)) throw err;
        errors.push(err);
        compiled.set(name, { opts: {}, invalid: err.message });
      }
    }
    const byHost = new Map<string, string>();
    const conflicts = new Set<string>();
    for (const r of routers) {
      const name = bareName(r.options ?? 'default');
      for (const h of r.hosts) {
        const host = h.toLowerCase();
        const before = byHost.get(host);
        if (before !== undefined && before !== name) conflicts.add(host);
        else byHost.set(host, name);
      }
    }
    for (const host of conflicts) {
      byHost.set(host, 'default');
      this.logger.warn('routers give one host different TLS options: it uses the default options', { host });
    }
    this.compiled = compiled;
    this.byHost = byHost;
    this.built = new WeakMap();
    return errors;
  }

  /** The options sets that compiled, by name. */
  valid(): Record<string, TlsOptions> {
    return Object.fromEntries([...this.compiled].filter(([, c]) => !c.invalid).map(([n, c]) => [n, c.opts]));
  }

  /** Makes `handshakeServerFor(main, …)` follow this table. */
  attach(main: tls.Server): void {
    choosers.set(main, (serverName) => this.serverFor(main, serverName));
  }

  private serverFor(main: tls.Server, serverName: string): tls.Server {
    const name = this.byHost.get(serverName) ?? 'default';
    const c = this.compiled.get(name);
    // The entrypoint's own server already applies the default options (followTlsSettings), client certificates aside.
    if (!c || (name === 'default' && !c.clientAuth && !c.invalid)) return main;
    let servers = this.built.get(main);
    if (!servers) this.built.set(main, (servers = new Map()));
    let server = servers.get(name);
    if (!server) servers.set(name, (server = this.build(main, name, c)));
    return server;
  }

  private build(main: tls.Server, name: string, c: Compiled): tls.Server {
    const ca = c.clientAuth?.ca;
    const contexts = new WeakMap<ServedCertificate, tls.SecureContext>();
    const settings = c.invalid ? {} : secureContextSettings(c.opts, `tls.options.${name}`);
    // Client certificates are checked against the context the SNI callback picks: it must hold the CAs.
    const contextFor = (cert: ServedCertificate): tls.SecureContext => {
      if (!ca) return cert.context;
      let ctx = contexts.get(cert);
      if (!ctx) contexts.set(cert, (ctx = tls.createSecureContext({ ...settings, key: cert.keyPem, cert: cert.certPem, ca })));
      return ctx;
    };
    const base = httpsServerOptions(this.store, this.challenges, c.opts, `tls.options.${name}`, contextFor);
    const server = tls.createServer({
      ...base,
      ...c.clientAuth?.serverOptions,
      ...(c.invalid ? { SNICallback: (_n: string, cb: (err: Error | null) => void) => cb(new Error(`TLS options ${name} are invalid: ${c.invalid}`)) } : {}),
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const why = c.clientAuth?.refuse(socket);
      if (why) {
        main.emit('tlsClientError', new Error(why), socket);
        socket.destroy();
        return;
      }
      main.emit('secureConnection', socket);
    });
    server.on('tlsClientError', (err, socket) => main.emit('tlsClientError', err, socket));
    return server;
  }
}
