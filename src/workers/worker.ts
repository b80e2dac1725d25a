import { isRecord } from '../config/decode';
import type { StaticConfig } from '../config/static';
import { graceMs } from './grace';
import type { ProviderSnapshot } from '../dynamic/model';
import type { Logger } from '../log/logger';
import { internalRoutes } from '../app';
import { createPingHandler } from '../api/api-handler';
import { createObservability } from '../metrics/observability';
import { middlewareTypes } from '../plugins';
import { Gateway } from '../server/gateway';
import type { PreRouting } from '../server/entrypoint';
import { entryPointRedirect } from '../server/redirect-entrypoint';
import { CHALLENGE_PATH } from '../tls/challenges';
import { loadCertificate } from '../tls/certificate';
import { TlsManager } from '../tls/index';
import { mergedTlsConfig, tlsRouters } from '../tls-wiring';
import { errorMessage } from '../errors';
import { connectWorkerCalls } from './group-state';
import { challengesToPrimary, toPrimary } from './internal-bridge';
import { internalSocketPath, isPortierMessage, type DownServers, type SharedCertificate, type ToWorker, type UpdateMessage } from './messages';

/**
 * A worker of a group (docs/workers.md): the data plane only. It binds
 * every TCP entrypoint on the socket it shares with the other workers,
 * compiles each update the primary sends into its own table (a change
 * that fails to compile keeps the table it had), and sends what must stay
 * global to the primary: internal services' requests, rate-limit and
 * in-flight decisions, metrics on request, access-log lines (its stdout is
 * a pipe the primary reads). It has no provider, no ACME resolver and no
 * HTTP health check of its own.
 */
export function serveAsWorker(config: StaticConfig, log: Logger): void {
  const socketPath = internalSocketPath(process.ppid);
  const send = (msg: object): boolean => process.connected && process.send!(msg);
  const calls = connectWorkerCalls(send);
  let worker: ServingWorker | undefined;
  const serve = (): void => {
    worker!.serve().then(() => send({ portier: 'serving' }), (err: unknown) => {
      log.error('worker failed to start', { error: errorMessage(err) });
      if (!process.connected) process.exit(1);
      process.send!({ portier: 'failed', error: errorMessage(err) }, () => process.exit(1));
    });
  };
  process.on('message', (msg: unknown) => {
    if (!isPortierMessage<ToWorker>(msg)) return;
    switch (msg.portier) {
      case 'answers':
        return calls.answered(msg);
      case 'update':
        if (worker) return worker.apply(msg);
        worker = prepareWorker(config, log, socketPath, msg);
        if (!msg.standby) serve();
        return;
      case 'serve':
        return serve();
      case 'metrics?':
        void worker?.metrics().then((metrics) => send({ portier: 'metrics', id: msg.id, metrics }));
        return;
      case 'drain':
        void drain(msg.graceMs);
    }
  });
  let draining: Promise<void> | undefined;
  const drain = (grace: number): Promise<void> =>
    (draining ??= (async () => {
      await worker?.close(grace);
      process.exit(0);
    })());
  // The primary is gone (killed): finish what is in flight and go, rather than serve a table nobody updates.
  if (!process.connected) process.exit(1);
  process.once('disconnect', () => {
    calls.disconnected();
    void drain(graceMs(config));
  });
  // Ctrl-C reaches the whole process group: the primary orders the drain.
  process.on('SIGINT', () => undefined);
  process.once('SIGTERM', () => void drain(graceMs(config)));
  send({ portier: 'ready' });
}

interface ServingWorker {
  apply(update: UpdateMessage): void;
  /** Binds the entrypoints: from then on the worker serves. */
  serve(): Promise<void>;
  metrics(): Promise<unknown[]>;
  close(graceMs: number): Promise<void>;
}

/** A worker with its table compiled from `first`, not yet bound to any entrypoint. */
function prepareWorker(config: StaticConfig, log: Logger, socketPath: string, first: UpdateMessage): ServingWorker {
  let terminating = false;
  // Lines go to stdout, which the primary reads and writes to the one access log (its file or its stdout).
  const own: StaticConfig = { ...config, accessLog: config.accessLog && { ...config.accessLog, filePath: undefined } };
  // The local CA needs no resolver; ACME certificates come from the primary.
  const tls = new TlsManager({ dataDir: config.dataDir, logger: log });
  const obs = createObservability(own, log, {
    table: () => gateway.table,
    reloads: () => gateway.reloads,
    providers: () => [],
    port: (ep) => gateway.port(ep),
  });
  const internal = internalRoutes(own, log, {
    api: () => toPrimary(socketPath, 'api@internal'),
    ping: () => createPingHandler(() => terminating, config.ping?.terminatingStatusCode ?? 503),
    dashboard: config.api?.dashboard ? toPrimary(socketPath, 'dashboard@internal') : undefined,
    metrics: config.metrics?.prometheus ? toPrimary(socketPath, 'prometheus@internal') : undefined,
  });
  const gateway = new Gateway({
    config: own, providers: [], middlewareTypes, log, internal, preRouting: preRouting(config, socketPath), observers: obs.observers,
    tlsFor: () => tls.httpsServerOptions(),
    bind: { tcp: true, udp: false },
  });
  const certificates = new Certificates(tls);
  gateway.onChange((table, snapshots) => {
    // Certificate resolvers are the primary's: here a router's hosts only pick the certificate to serve.
    const routers = tlsRouters(table, config).map((r) => ({ ...r, tls: { ...r.tls, certResolver: undefined } }));
    tls.update(mergedTlsConfig(snapshots.values()), routers);
    obs.tableChanged(table);
  });
  let last = first;
  const apply = (update: UpdateMessage): void => {
    for (const s of update.snapshots ?? []) gateway.push(withoutHealthChecks(s));
    if (update.snapshots) gateway.flush();
    markDown(gateway, update.down);
    if (update.certificates) certificates.set(update.certificates);
    last = update;
  };
  apply(first);
  return {
    apply,
    async serve() {
      await gateway.start();
      // start() compiled the table again: its new balancers start up until told otherwise.
      markDown(gateway, last.down);
      for (const server of gateway.secureServers().values()) tls.attach(server);
    },
    metrics: async () => (obs.metrics ? obs.metrics.registry.getMetricsAsJSON() : []),
    async close(graceMs) {
      terminating = true;
      obs.events.close();
      await gateway.close(graceMs);
      await tls.close();
      await obs.close();
    },
  };
}

/** Redirections, and ACME HTTP-01 answers from the primary on the entrypoints its resolvers name. */
function preRouting(config: StaticConfig, socketPath: string): PreRouting[] {
  const steps: PreRouting[] = [];
  for (const resolver of Object.values(config.certificatesResolvers ?? {})) {
    const ep = isRecord(resolver) && isRecord(resolver.acme) && isRecord(resolver.acme.httpChallenge) ? resolver.acme.httpChallenge.entryPoint : undefined;
    if (typeof ep === 'string') steps.push(challengesToPrimary(socketPath, ep, CHALLENGE_PATH));
  }
  for (const [name, ep] of Object.entries(config.entryPoints)) {
    const r = ep.http?.redirections?.entryPoint;
    if (r) steps.push({ entryPoint: name, answer: entryPointRedirect(r, config.entryPoints) });
  }
  return steps;
}

/** HTTP health checks run in the primary; its verdicts arrive with each update (markDown). */
function withoutHealthChecks(s: ProviderSnapshot): ProviderSnapshot {
  const services = s.config.http?.services;
  if (!services) return s;
  const stripped = Object.fromEntries(Object.entries(services).map(([name, svc]) => {
    if (!svc.loadBalancer?.healthCheck) return [name, svc];
    const { healthCheck: _, ...lb } = svc.loadBalancer;
    return [name, { ...svc, loadBalancer: lb }];
  }));
  return { ...s, config: { ...s.config, http: { ...s.config.http, services: stripped } } };
}

function markDown(gateway: Gateway, down: DownServers): void {
  for (const [name, { lb }] of gateway.balancers()) {
    const urls = down[name] ?? [];
    for (const s of lb.servers) {
      if (urls.includes(s.url)) s.checkFailed();
      else if (!s.healthy) s.checkPassed();
    }
  }
}

/** The primary's ACME certificates in this worker's store: each update's list replaces the one before. */
class Certificates {
  private held = new Set<string>();

  constructor(private readonly tls: TlsManager) {}

  set(certs: SharedCertificate[]): void {
    const now = new Set<string>();
    for (const c of certs) {
      const id = JSON.stringify([c.group, c.key]);
      now.add(id);
      try {
        this.tls.store.put(c.group, c.key, loadCertificate(c.certPem, c.keyPem, c.group.replace(/^acme:/, '')));
      } catch {
        // The primary served it, so it loads; a certificate that does not is left out, as the primary's store would.
      }
    }
    for (const id of this.held) {
      if (now.has(id)) continue;
      const [group, key] = JSON.parse(id) as [string, string];
      this.tls.store.put(group, key, undefined);
    }
    this.held = now;
  }
}
