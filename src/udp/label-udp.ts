import { errorMessage } from '../errors';
import { portNumber } from '../dynamic/decode-dynamic';
import type { ContainerInfo, LabelOptions } from '../dynamic/container';
import type { LabelEntry } from '../dynamic/label-tree';
import type { UdpConfig, UdpRouterConfig } from '../dynamic/model';
import { UDP_ROUTER } from './decode-udp';

/**
 * Traefik's UDP labels (`<prefix>.udp.routers.<r>.{entrypoints,service}`,
 * `<prefix>.udp.services.<s>.loadbalancer.server.port`) over the containers
 * of one provider. As in Traefik: a container with UDP labels but no UDP
 * service label gets a service named after it; its server is the
 * container's address and that port label, else its lowest exposed port; a
 * router without `service` takes the container's only UDP service. Values
 * decode through the dynamic schema's own UDP field decoders.
 *
 * Definitions of one name fold in container order: the first wins, a
 * different later one is a warning on the object; a service's servers are
 * the union of its ready containers'. Unlike HTTP names, UDP names are not
 * scoped per compose project.
 */
export interface UdpLabelSet {
  routers: Map<string, LabelEntry[]>;
  services: Map<string, LabelEntry[]>;
}

interface RouterDef {
  owner: string;
  value: UdpRouterConfig;
  json: string;
}

export class UdpLabels {
  private readonly routers = new Map<string, RouterDef>();
  private readonly services = new Map<string, string[]>();
  private readonly errors = new Map<string, Set<string>>();
  private readonly warnings = new Map<string, Set<string>>();

  /** Adds one routed container's UDP labels; `defaultService` is Traefik's `.Name` of it. */
  container(c: ContainerInfo, labels: UdpLabelSet, defaultService: string, opts: LabelOptions): void {
    if (labels.routers.size + labels.services.size === 0) return;
    const valid = (kind: 'routers' | 'services', name: string): boolean => {
      if (name.includes('@')) this.note(this.errors, `udp.${kind}.${name}`, `label of ${c.name}: "@" is not allowed in a name (it separates the provider)`);
      return !name.includes('@');
    };
    const services = labels.services.size ? [...labels.services.keys()].filter((n) => valid('services', n)) : [defaultService];
    for (const name of services) this.service(c, name, labels.services.get(name) ?? [], opts);
    for (const [name, entries] of labels.routers) {
      if (!valid('routers', name)) continue;
      const value = this.router(`udp.routers.${name}`, entries);
      if (value.service === undefined) {
        if (services.length === 1) value.service = services[0];
        else this.note(this.errors, `udp.routers.${name}`, `no service label and container ${c.name} defines ${services.length} UDP services (${services.join(', ')}): set ${opts.prefixes[0]}.udp.routers.${name}.service`);
      }
      this.fold(name, c.name, value);
    }
  }

  /** The provider's result with the UDP objects and their messages added. */
  into<R extends { config: { udp?: UdpConfig }; errors: Record<string, string[]>; warnings: Record<string, string[]> }>(result: R): R {
    if (this.routers.size + this.services.size > 0) {
      result.config.udp = {
        routers: Object.fromEntries([...this.routers].map(([n, d]) => [n, d.value])),
        services: Object.fromEntries([...this.services].map(([n, servers]) => [n, { loadBalancer: { servers: servers.map((address) => ({ address })) } }])),
      };
    }
    for (const [k, v] of this.errors) result.errors[k] = [...(result.errors[k] ?? []), ...v];
    for (const [k, v] of this.warnings) result.warnings[k] = [...(result.warnings[k] ?? []), ...v];
    return result;
  }

  private router(key: string, entries: LabelEntry[]): UdpRouterConfig {
    const value: UdpRouterConfig = {};
    for (const e of entries) {
      const k = e.path.join('.').toLowerCase();
      try {
        if (k === 'entrypoints') value.entryPoints = UDP_ROUTER.entryPoints(e.value, 'value');
        else if (k === 'service') value.service = UDP_ROUTER.service(e.value, 'value');
        else this.note(this.errors, key, `label ${e.label}: unknown key (a UDP router has entrypoints and service only)`);
      } catch (err) {
        this.note(this.errors, key, `label ${e.label}: ${errorMessage(err).replace(/^value: /, '')}`);
      }
    }
    return value;
  }

  private service(c: ContainerInfo, name: string, entries: LabelEntry[], opts: LabelOptions): void {
    const key = `udp.services.${name}`;
    let port: number | undefined;
    for (const e of entries) {
      if (e.path.join('.').toLowerCase() !== 'loadbalancer.server.port') {
        this.note(this.errors, key, `label ${e.label}: unknown key (a UDP service has loadbalancer.server.port only)`);
        continue;
      }
      try {
        port = portNumber(e.value, 'value');
      } catch (err) {
        this.note(this.errors, key, `label ${e.label}: ${errorMessage(err).replace(/^value: /, '')}`);
      }
    }
    const servers = this.services.get(name) ?? [];
    this.services.set(name, servers);
    // As Traefik: a container that is not running (or not healthy) keeps its service, without a server.
    if (!c.ready) return;
    port ??= [...c.ports].sort((a, b) => a - b)[0];
    if (port === undefined) {
      this.note(this.errors, key, `container ${c.name} exposes no port: set label ${opts.prefixes[0]}.udp.services.${name}.loadbalancer.server.port`);
      return;
    }
    const address = `${c.address.includes(':') ? `[${c.address}]` : c.address}:${port}`;
    if (!servers.includes(address)) servers.push(address);
  }

  private fold(name: string, owner: string, value: UdpRouterConfig): void {
    const json = JSON.stringify({ entryPoints: value.entryPoints, service: value.service });
    const first = this.routers.get(name);
    if (!first) this.routers.set(name, { owner, value, json });
    else if (first.json !== json) this.note(this.warnings, `udp.routers.${name}`, `defined differently by containers ${first.owner} and ${owner}: ${first.json} vs ${json}; using ${first.owner}'s`);
  }

  private note(m: Map<string, Set<string>>, key: string, msg: string): void {
    m.set(key, (m.get(key) ?? new Set()).add(msg));
  }
}
