import { boolean } from '../config/decode';
import { errorMessage } from '../errors';
import { parseConstraints, type Constraint } from './constraints';
import type { ContainerInfo, LabelOptions } from './container';
import { COMPOSE_DEFAULT_RULE, normalizeName, PLAIN_DEFAULT_RULE, renderDefaultRule, type RuleModel } from './default-rule';
import { decodeMiddleware, decodeRouter, decodeService, type ServerDraft, type ServiceDraft } from './label-objects';
import { LabelMerge, type ContainerMerge, type LabelResult } from './label-merge';
import { splitLabels, type ContainerLabels } from './label-tree';
import type { RouterConfig, ServerConfig } from './model';
import { UdpLabels } from '../udp/label-udp';
import { TcpLabels } from '../tcp/label-tcp';

export type { LabelResult } from './label-merge';

const COMPOSE_PROJECT = 'com.docker.compose.project';
const COMPOSE_SERVICE = 'com.docker.compose.service';
const COMPOSE_NUMBER = 'com.docker.compose.container-number';

/**
 * The shared label parser of every label provider (docker, swarm, runtime):
 * Traefik's label grammar over a list of containers → one DynamicConfig.
 *
 * Where Traefik drops objects, Portier keeps them and says why:
 * - A broken label marks only its router, service or middleware: the object
 *   stays in `config` with what could be read and is listed in `errors`
 *   (the gateway disables it). Exceptions: a name containing `@` and a
 *   middleware without a usable type produce no object, only the error.
 * - Replicas, or different containers, that define one object differently:
 *   the definition of the lowest `com.docker.compose.container-number`
 *   (then the lexically first container name) is used, with a warning naming
 *   both values. Servers of one service are merged, deduplicated by URL.
 *   Containers of different compose projects that define one name
 *   differently each keep their own, `<name>-<project>` (label-merge.ts).
 * - Only `ready` containers contribute servers; a service whose containers
 *   are all not ready exists with zero servers (the gateway answers 503, not 404).
 *
 * Default names: a compose container's service is Traefik's `.Name`,
 * `<service>-<project>` (`web-shop`), so equal service names in two projects
 * do not collide; a plain container's is its normalized name. Keys of
 * `errors`/`warnings`: `routers.<n>`, `services.<n>`, `middlewares.<n>`, or
 * a bare container name (or `constraints`) for container-level messages.
 */
export function configFromContainers(containers: ContainerInfo[], opts: LabelOptions): LabelResult {
  const merge = new LabelMerge();
  const udp = new UdpLabels();
  const tcp = new TcpLabels();
  let constraint: Constraint | undefined;
  if (opts.constraints) {
    try {
      constraint = parseConstraints(opts.constraints);
    } catch (err) {
      // An unreadable filter must not expose everything: route nothing.
      merge.error('constraints', errorMessage(err));
      return merge.result();
    }
  }
  for (const c of [...containers].sort(byNumberThenName)) {
    const labels = splitLabels(c.labels, opts.prefixes);
    const out = merge.container(c.name, c.labels[COMPOSE_PROJECT] ?? '');
    if (!enabled(c, labels, opts, out)) continue;
    if (constraint && !constraint(c.labels)) continue;
    addContainer(c, labels, opts, out);
    udp.container(c, labels.udp, ruleModel(c).name, opts);
    tcp.container(c, labels.tcp, ruleModel(c).name, opts);
  }
  return tcp.into(udp.into(merge.result()));
}

function enabled(c: ContainerInfo, labels: ContainerLabels, opts: LabelOptions, out: ContainerMerge): boolean {
  if (!labels.enable) return opts.exposedByDefault;
  try {
    return boolean(labels.enable.value, labels.enable.label);
  } catch (err) {
    out.error(c.name, `label ${errorMessage(err)}; the container is not routed`);
    return false;
  }
}

function addContainer(c: ContainerInfo, labels: ContainerLabels, opts: LabelOptions, out: ContainerMerge): void {
  const model = ruleModel(c);
  for (const e of labels.unknown) out.warn(c.name, `label ${e.label}: unknown key, ignored`);
  const named = (kind: string, name: string): boolean => {
    if (name.includes('@')) out.error(`${kind}.${name}`, `label of ${c.name}: "@" is not allowed in a ${kind.slice(0, -1)} name (it separates the provider)`);
    return !name.includes('@');
  };

  const services = new Map<string, ServiceDraft>();
  for (const [name, entries] of labels.services) {
    if (!named('services', name)) continue;
    const d = decodeService(entries);
    d.errors.forEach((m) => out.error(`services.${name}`, m));
    d.warnings.forEach((m) => out.warn(`services.${name}`, m));
    services.set(name, d.value);
  }
  // As in Traefik: a container configured only for TCP/UDP gets no automatic HTTP router or service.
  const tcpObjects = labels.tcp.routers.size + labels.tcp.services.size + labels.tcp.middlewares.size;
  const hasTcpUdp = (labels.tcpUdp.size > 0 || tcpObjects > 0 || labels.udp.routers.size + labels.udp.services.size > 0) && labels.routers.size + labels.services.size + labels.middlewares.size === 0;
  if (labels.services.size === 0 && !hasTcpUdp) services.set(model.name, { lb: { passHostHeader: true }, server: {} });

  for (const [name, draft] of services) {
    const server = serverFor(c, name, draft.server, opts, out);
    out.service(name, draft.lb, server, c.ready);
  }

  const only = services.size === 1 ? [...services.keys()][0] : undefined;
  for (const [name, entries] of labels.routers) {
    if (!named('routers', name)) continue;
    const d = decodeRouter(entries);
    d.errors.forEach((m) => out.error(`routers.${name}`, m));
    d.warnings.forEach((m) => out.warn(`routers.${name}`, m));
    const router: RouterConfig = { ...d.value, rule: d.value.rule ?? defaultRule(model, opts, `routers.${name}`, out) };
    if (router.service === undefined) {
      if (only !== undefined) router.service = only;
      else {
        out.error(`routers.${name}`, `no service label and container ${c.name} defines ${services.size} services (${[...services.keys()].join(', ')}): set ${opts.prefixes[0]}.http.routers.${name}.service`);
      }
    }
    out.router(name, router);
  }
  if (labels.routers.size === 0 && !hasTcpUdp) {
    if (only !== undefined) out.router(only, { rule: defaultRule(model, opts, `routers.${only}`, out), service: only });
    else if (services.size > 1) out.warn(c.name, `no router: the container defines ${services.size} services, so no default router is made; add router labels`);
  }

  // What is left under tcp. and udp. names no object Traefik has (`udp.middlewares`): said on the container.
  for (const entries of labels.tcpUdp.values()) {
    out.warn(c.name, `label ${entries[0].label}: unknown key (TCP labels configure routers, services and middlewares; UDP labels routers and services), ignored`);
  }

  for (const [name, entries] of labels.middlewares) {
    if (!named('middlewares', name)) continue;
    const d = decodeMiddleware(entries);
    d.errors.forEach((m) => out.error(`middlewares.${name}`, m));
    if (d.value) out.middleware(name, d.value);
  }
}

function serverFor(c: ContainerInfo, service: string, s: ServerDraft, opts: LabelOptions, out: ContainerMerge): ServerConfig | undefined {
  const weight = s.weight === undefined ? {} : { weight: s.weight };
  if (s.url) return { url: s.url, ...weight, ...(s.preservePath === undefined ? {} : { preservePath: s.preservePath }) };
  let port = s.port;
  if (port === undefined) {
    const ports = [...c.ports].sort((a, b) => a - b);
    const label = `${opts.prefixes[0]}.http.services.${service}.loadbalancer.server.port`;
    if (ports.length === 0) {
      out.error(`services.${service}`, `container ${c.name} exposes no port: set label ${label}`);
      return undefined;
    }
    if (ports.length > 1) out.warn(`services.${service}`, `container ${c.name} exposes ports ${ports.join(', ')}: using ${ports[0]}; set label ${label} to choose`);
    port = ports[0];
  }
  const host = c.address.includes(':') ? `[${c.address}]` : c.address;
  return { url: `${s.scheme ?? 'http'}://${host}:${port}`, ...weight };
}

function defaultRule(model: RuleModel, opts: LabelOptions, key: string, out: ContainerMerge): string {
  const template = opts.defaultRule ?? (model.project ? COMPOSE_DEFAULT_RULE : PLAIN_DEFAULT_RULE);
  try {
    return renderDefaultRule(template, model);
  } catch (err) {
    out.error(key, `defaultRule ${JSON.stringify(template)}: ${errorMessage(err)}`);
    return '';
  }
}

function ruleModel(c: ContainerInfo): RuleModel {
  const project = c.labels[COMPOSE_PROJECT] ?? '';
  const service = c.labels[COMPOSE_SERVICE];
  const compose = project !== '' && service !== undefined && service !== '';
  return {
    name: normalizeName(compose ? `${service}_${project}` : c.name),
    containerName: c.name.replace(/^\//, ''),
    labels: c.labels,
    service: compose ? service : c.name,
    project: compose ? project : '',
  };
}

function byNumberThenName(a: ContainerInfo, b: ContainerInfo): number {
  const n = (c: ContainerInfo): number => {
    const v = Number(c.labels[COMPOSE_NUMBER]);
    return Number.isFinite(v) && c.labels[COMPOSE_NUMBER] !== undefined ? v : Number.MAX_SAFE_INTEGER;
  };
  return n(a) - n(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
