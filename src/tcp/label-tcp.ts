import { boolean } from '../config/decode';
import { errorMessage } from '../errors';
import { portNumber } from '../dynamic/decode-dynamic';
import { proxyVersion, TCP_HEALTH_CHECK, TCP_LOAD_BALANCER, TCP_ROUTER, TCP_ROUTER_TLS } from '../dynamic/decode-tcp';
import type { ContainerInfo, LabelOptions } from '../dynamic/container';
import { decodeMiddleware } from '../dynamic/label-objects';
import type { LabelEntry } from '../dynamic/label-tree';
import type { TcpConfig, TcpHealthCheckConfig, TcpLoadBalancerConfig, TcpRouterConfig } from '../dynamic/model';

/**
 * Traefik's TCP labels (`<prefix>.tcp.routers|services|middlewares.<name>.*`)
 * over the containers of one provider, decoded by the `tcp` schema's own
 * field decoders (decode-tcp.ts). As in Traefik: a container with TCP
 * labels but no TCP service label gets a service named after it, whose
 * server is the container's address and `loadbalancer.server.port` (else
 * its lowest exposed port); a router without `service` takes the
 * container's only TCP service; a TCP router needs a `rule` (there is no
 * default one). Definitions of one name fold in container order: the
 * first wins, a different later one is a warning on the object; a
 * service's servers are the union of its ready containers'. TCP names are
 * not scoped per compose project.
 */
export interface TcpLabelSet {
  routers: Map<string, LabelEntry[]>;
  services: Map<string, LabelEntry[]>;
  middlewares: Map<string, LabelEntry[]>;
}

type LbDraft = Omit<TcpLoadBalancerConfig, 'servers'>;
interface ServiceDraft { lb: LbDraft; port?: number; tls?: boolean }
type Setter<T> = (d: T, v: string, idx: number[]) => void;

const val = <T>(d: (raw: unknown, path: string) => T, v: string): T => d(v, 'value');
const hc = (s: ServiceDraft): TcpHealthCheckConfig => (s.lb.healthCheck ??= {});
const tls = (r: TcpRouterConfig): NonNullable<TcpRouterConfig['tls']> => (r.tls ??= {});
const domain = (r: TcpRouterConfig, n: number): { main: string; sans?: string[] } => ((tls(r).domains ??= [])[n] ??= { main: '' });

const ROUTER_KEYS: Record<string, Setter<TcpRouterConfig>> = {
  rule: (r, v) => (r.rule = val(TCP_ROUTER.rule, v)),
  rulesyntax: (r, v) => (r.ruleSyntax = val(TCP_ROUTER.ruleSyntax, v)),
  entrypoints: (r, v) => (r.entryPoints = val(TCP_ROUTER.entryPoints, v)),
  middlewares: (r, v) => (r.middlewares = val(TCP_ROUTER.middlewares, v)),
  service: (r, v) => (r.service = val(TCP_ROUTER.service, v)),
  priority: (r, v) => (r.priority = val(TCP_ROUTER.priority, v)),
  tls: (r, v) => {
    if (val(boolean, v)) tls(r);
  },
  'tls.passthrough': (r, v) => (tls(r).passthrough = val(TCP_ROUTER_TLS.passthrough, v)),
  'tls.certresolver': (r, v) => (tls(r).certResolver = val(TCP_ROUTER_TLS.certResolver, v)),
  'tls.options': (r, v) => (tls(r).options = val(TCP_ROUTER_TLS.options, v)),
  'tls.domains[].main': (r, v, [n]) => (domain(r, n).main = v),
  'tls.domains[].sans': (r, v, [n]) => (domain(r, n).sans = v.split(',').map((s) => s.trim()).filter(Boolean)),
};

const SERVICE_KEYS: Record<string, Setter<ServiceDraft>> = {
  'loadbalancer.server.port': (s, v) => (s.port = val(portNumber, v)),
  'loadbalancer.server.tls': (s, v) => (s.tls = val(boolean, v)),
  'loadbalancer.serverstransport': (s, v) => (s.lb.serversTransport = val(TCP_LOAD_BALANCER.serversTransport, v)),
  'loadbalancer.proxyprotocol.version': (s, v) => (s.lb.proxyProtocol = { version: val(proxyVersion, v) }),
  'loadbalancer.terminationdelay': (s, v) => (s.lb.terminationDelay = val(TCP_LOAD_BALANCER.terminationDelay, v)),
  'loadbalancer.healthcheck.port': (s, v) => (hc(s).port = val(TCP_HEALTH_CHECK.port, v)),
  'loadbalancer.healthcheck.interval': (s, v) => (hc(s).interval = val(TCP_HEALTH_CHECK.interval, v)),
  'loadbalancer.healthcheck.unhealthyinterval': (s, v) => (hc(s).unhealthyInterval = val(TCP_HEALTH_CHECK.unhealthyInterval, v)),
  'loadbalancer.healthcheck.timeout': (s, v) => (hc(s).timeout = val(TCP_HEALTH_CHECK.timeout, v)),
  'loadbalancer.healthcheck.send': (s, v) => (hc(s).send = v),
  'loadbalancer.healthcheck.expect': (s, v) => (hc(s).expect = v),
};

interface Def { owner: string; value: unknown; json: string }

export class TcpLabels {
  private readonly routers = new Map<string, Def>();
  private readonly middlewares = new Map<string, Def>();
  private readonly services = new Map<string, { lb: Def; servers: { address: string; tls?: boolean }[] }>();
  private readonly errors = new Map<string, Set<string>>();
  private readonly warnings = new Map<string, Set<string>>();

  /** Adds one routed container's TCP labels; `defaultService` is Traefik's `.Name` of it. */
  container(c: ContainerInfo, labels: TcpLabelSet, defaultService: string, opts: LabelOptions): void {
    if (labels.routers.size + labels.services.size + labels.middlewares.size === 0) return;
    const valid = (kind: string, name: string): boolean => {
      if (name.includes('@')) this.note(this.errors, `tcp.${kind}.${name}`, `label of ${c.name}: "@" is not allowed in a name (it separates the provider)`);
      return !name.includes('@');
    };
    const services = labels.services.size ? [...labels.services.keys()].filter((n) => valid('services', n)) : labels.routers.size ? [defaultService] : [];
    for (const name of services) this.service(c, name, labels.services.get(name) ?? [], opts);
    for (const [name, entries] of labels.routers) {
      if (!valid('routers', name)) continue;
      const key = `tcp.routers.${name}`;
      const value = this.decode<TcpRouterConfig>(key, entries, ROUTER_KEYS, { rule: '' });
      if (value.rule === '') this.note(this.errors, key, `a TCP router needs a rule: set ${opts.prefixes[0]}.tcp.routers.${name}.rule (HostSNI(\`*\`) takes every connection)`);
      if (value.service === undefined) {
        if (services.length === 1) value.service = services[0];
        else this.note(this.errors, key, `no service label and container ${c.name} defines ${services.length} TCP services (${services.join(', ')}): set ${opts.prefixes[0]}.tcp.routers.${name}.service`);
      }
      this.fold(this.routers, key, name, c.name, value);
    }
    for (const [name, entries] of labels.middlewares) {
      if (!valid('middlewares', name)) continue;
      const d = decodeMiddleware(entries);
      d.errors.forEach((m) => this.note(this.errors, `tcp.middlewares.${name}`, m));
      if (d.value) this.fold(this.middlewares, `tcp.middlewares.${name}`, name, c.name, d.value);
    }
  }

  /** The provider's result with the TCP objects and their messages added. */
  into<R extends { config: { tcp?: TcpConfig }; errors: Record<string, string[]>; warnings: Record<string, string[]> }>(result: R): R {
    if (this.routers.size + this.services.size + this.middlewares.size > 0) {
      result.config.tcp = {
        routers: Object.fromEntries([...this.routers].map(([n, d]) => [n, d.value as TcpRouterConfig])),
        services: Object.fromEntries([...this.services].map(([n, s]) => [n, { loadBalancer: { ...(s.lb.value as LbDraft), servers: s.servers } }])),
        middlewares: Object.fromEntries([...this.middlewares].map(([n, d]) => [n, d.value as Record<string, unknown>])),
      };
    }
    for (const [k, v] of this.errors) result.errors[k] = [...(result.errors[k] ?? []), ...v];
    for (const [k, v] of this.warnings) result.warnings[k] = [...(result.warnings[k] ?? []), ...v];
    return result;
  }

  private decode<T>(key: string, entries: LabelEntry[], specs: Record<string, Setter<T>>, target: T): T {
    for (const e of entries) {
      const idx: number[] = [];
      const k = e.path.map((p) => (/^\d+$/.test(p) ? (idx.push(Number(p)), '[]') : p.toLowerCase())).join('.').replace(/\.\[\]/g, '[]');
      const set = specs[k];
      if (!set) {
        this.note(this.errors, key, `label ${e.label}: unknown key (known: ${Object.keys(specs).join(', ').replace(/\[\]/g, '[n]')})`);
        continue;
      }
      try {
        set(target, e.value, idx);
      } catch (err) {
        this.note(this.errors, key, `label ${e.label}: ${errorMessage(err).replace(/^value: /, '')}`);
      }
    }
    return target;
  }

  private service(c: ContainerInfo, name: string, entries: LabelEntry[], opts: LabelOptions): void {
    const key = `tcp.services.${name}`;
    const draft = this.decode<ServiceDraft>(key, entries, SERVICE_KEYS, { lb: {} });
    const json = JSON.stringify(draft.lb);
    const entry = this.services.get(name) ?? { lb: { owner: c.name, value: draft.lb, json }, servers: [] };
    if (entry.lb.json !== json) this.note(this.warnings, key, `defined differently by containers ${entry.lb.owner} and ${c.name}: ${entry.lb.json} vs ${json}; using ${entry.lb.owner}'s`);
    this.services.set(name, entry);
    // As Traefik: a container that is not running (or not healthy) keeps its service, without a server.
    if (!c.ready) return;
    const port = draft.port ?? [...c.ports].sort((a, b) => a - b)[0];
    if (port === undefined) {
      this.note(this.errors, key, `container ${c.name} exposes no port: set label ${opts.prefixes[0]}.tcp.services.${name}.loadbalancer.server.port`);
      return;
    }
    const address = `${c.address.includes(':') ? `[${c.address}]` : c.address}:${port}`;
    if (!entry.servers.some((s) => s.address === address)) entry.servers.push({ address, ...(draft.tls ? { tls: true } : {}) });
  }

  private fold(into: Map<string, Def>, key: string, name: string, owner: string, value: unknown): void {
    const json = JSON.stringify(value);
    const first = into.get(name);
    if (!first) into.set(name, { owner, value, json });
    else if (first.json !== json) this.note(this.warnings, key, `defined differently by containers ${first.owner} and ${owner}: ${first.json} vs ${json}; using ${first.owner}'s`);
  }

  private note(m: Map<string, Set<string>>, key: string, msg: string): void {
    m.set(key, (m.get(key) ?? new Set()).add(msg));
  }
}
