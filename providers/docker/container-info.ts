import type Dockerode from 'dockerode';
import type { ContainerInfo } from '../../src/dynamic/container';
import { providerLabel } from '../../src/dynamic/label-tree';

/**
 * One inspected container as the label parser sees it. The address follows
 * Traefik's order: the network named by label or option, else a network
 * shared with Portier's own container, else the first network (by name, so
 * the choice is stable); host-network containers are reached on 127.0.0.1.
 */
export interface AddressContext {
  prefixes: string[];
  network?: string;
  /** Networks of the container Portier itself runs in, if any. */
  selfNetworks: Set<string>;
  /** Other inspected containers, for `container:<id>` network mode. */
  byId: Map<string, Dockerode.ContainerInspectInfo>;
}

export interface Mapped {
  info: ContainerInfo;
  warning?: string;
}

export function toContainerInfo(c: Dockerode.ContainerInspectInfo, ctx: AddressContext): Mapped {
  const labels = c.Config?.Labels ?? {};
  const health = c.State?.Health?.Status as ContainerInfo['health'] | 'none' | undefined;
  const running = !!c.State?.Running && !c.State?.Paused && !c.State?.Restarting;
  const { address, warning } = addressOf(c, ctx, 0);
  return {
    info: {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      labels,
      address,
      ports: exposedPorts(c),
      ready: running && address !== '' && (health === undefined || health === 'none' || health === 'healthy'),
      ...(health && health !== 'none' ? { health } : {}),
    },
    warning,
  };
}

function exposedPorts(c: Dockerode.ContainerInspectInfo): number[] {
  const keys = [...Object.keys(c.Config?.ExposedPorts ?? {}), ...Object.keys(c.NetworkSettings?.Ports ?? {})];
  const ports = new Set<number>();
  for (const k of keys) {
    const m = /^(\d+)(?:\/tcp)?$/.exec(k);
    if (m) ports.add(Number(m[1]));
  }
  return [...ports].sort((a, b) => a - b);
}

function addressOf(c: Dockerode.ContainerInspectInfo, ctx: AddressContext, depth: number): { address: string; warning?: string } {
  const mode = c.HostConfig?.NetworkMode ?? '';
  if (mode === 'host') return { address: '127.0.0.1' };
  if (mode.startsWith('container:') && depth < 3) {
    const target = mode.slice('container:'.length);
    const other = [...ctx.byId.values()].find((o) => o.Id === target || o.Id.startsWith(target) || o.Name.replace(/^\//, '') === target);
    if (other) return addressOf(other, ctx, depth + 1);
    return { address: '', warning: `shares the network of container ${target}, which is not running` };
  }
  const nets = (c.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress?: string; GlobalIPv6Address?: string }>;
  const ip = (n: string): string => nets[n]?.IPAddress || nets[n]?.GlobalIPv6Address || '';
  const names = Object.keys(nets).filter((n) => ip(n) !== '').sort();
  const wanted = providerLabel(c.Config?.Labels ?? {}, ctx.prefixes, 'docker.network') ?? ctx.network;
  let warning: string | undefined;
  if (wanted) {
    const hit = names.find((n) => n === wanted || n.endsWith(`_${wanted}`));
    if (hit) return { address: ip(hit) };
    warning = `network ${wanted} not found on the container (it has ${names.join(', ') || 'none'})`;
  }
  const shared = names.find((n) => ctx.selfNetworks.has(n));
  if (shared) return { address: ip(shared), warning };
  if (names.length === 0) return { address: '', warning: `${warning ? warning + '; ' : ''}no IP address on any network` };
  return { address: ip(names[0]), warning };
}
