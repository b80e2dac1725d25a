import type { ContainerInfo } from '../../src/dynamic/container';
import { providerLabel } from '../../src/dynamic/label-tree';

/**
 * Swarm services and their running tasks as label-parser input: one
 * ContainerInfo per running task, all named after the service so that the
 * tasks of one service merge into one service with one server each. Labels
 * come from the service spec; Docker's task placeholders in label values
 * (`{{.Task.Slot}}`, `{{.Task.ID}}`, `{{.Task.Name}}`, `{{.Service.Name}}`,
 * `{{.Node.ID}}`) are filled per task, which is how host-network replicas
 * on distinct ports tell their port (`...server.port=1809{{.Task.Slot}}`).
 * With `lbswarm=true` the service is one server: its virtual IP.
 */
export interface SwarmService {
  ID: string;
  Spec?: { Name?: string; Labels?: Record<string, string>; EndpointSpec?: { Mode?: string; Ports?: { TargetPort?: number }[] } };
  Endpoint?: { VirtualIPs?: { NetworkID?: string; Addr?: string }[]; Ports?: { TargetPort?: number }[] };
}

export interface SwarmTask {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  Status?: { State?: string };
  DesiredState?: string;
  NetworksAttachments?: { Network?: { ID?: string; Spec?: { Name?: string; Scope?: string } }; Addresses?: string[] }[];
}

export interface TaskMapping {
  containers: ContainerInfo[];
  /** Per service name: why a task or service has no server. */
  warnings: Record<string, string[]>;
}

export function tasksToContainers(
  services: SwarmService[],
  tasks: SwarmTask[],
  opts: { prefixes: string[]; network?: string; networkNames: Map<string, string> },
): TaskMapping {
  const containers: ContainerInfo[] = [];
  const warnings: Record<string, string[]> = {};
  const warn = (name: string, msg: string): number => (warnings[name] ??= []).push(msg);
  for (const svc of [...services].sort((a, b) => (svcName(a) < svcName(b) ? -1 : 1))) {
    const name = svcName(svc);
    const labels = svc.Spec?.Labels ?? {};
    const ports = [...new Set([...(svc.Endpoint?.Ports ?? []), ...(svc.Spec?.EndpointSpec?.Ports ?? [])].map((p) => p.TargetPort ?? 0).filter((p) => p > 0))].sort((a, b) => a - b);
    const mine = tasks.filter((t) => t.ServiceID === svc.ID && t.DesiredState === 'running').sort((a, b) => (a.Slot ?? 0) - (b.Slot ?? 0));
    const lbswarm = (providerLabel(labels, opts.prefixes, 'swarm.lbswarm') ?? providerLabel(labels, opts.prefixes, 'docker.lbswarm'))?.toLowerCase() === 'true';
    const wanted = providerLabel(labels, opts.prefixes, 'swarm.network') ?? providerLabel(labels, opts.prefixes, 'docker.network') ?? opts.network;
    if (lbswarm && svc.Spec?.EndpointSpec?.Mode !== 'dnsrr') {
      const vips = (svc.Endpoint?.VirtualIPs ?? []).filter((v) => v.Addr);
      const vip = vips.find((v) => wanted !== undefined && opts.networkNames.get(v.NetworkID ?? '') === wanted) ?? vips[0];
      if (!vip) warn(name, `service ${name}: lbswarm is set but the service has no virtual IP`);
      containers.push({ id: svc.ID, name, labels, address: vip ? vip.Addr!.split('/')[0] : '', ports, ready: !!vip && mine.some((t) => t.Status?.State === 'running') });
      continue;
    }
    for (const task of mine) {
      const running = task.Status?.State === 'running';
      const address = taskAddress(task, wanted);
      if (running && address === '') warn(name, `task ${name}.${task.Slot ?? task.ID}: no address on a swarm network`);
      containers.push({
        id: task.ID,
        name,
        labels: fillTaskPlaceholders(labels, { slot: String(task.Slot ?? ''), taskId: task.ID, taskName: `${name}.${task.Slot ?? task.ID}`, service: name, node: task.NodeID ?? '' }),
        address,
        ports,
        ready: running && address !== '',
      });
    }
  }
  return { containers, warnings };
}

const svcName = (s: SwarmService): string => s.Spec?.Name ?? s.ID;

function taskAddress(task: SwarmTask, wanted?: string): string {
  const nets = task.NetworksAttachments ?? [];
  if (nets.some((n) => n.Network?.Spec?.Name === 'host')) return '127.0.0.1';
  const usable = nets.filter((n) => n.Network?.Spec?.Name !== 'ingress' && (n.Addresses ?? []).length > 0);
  const hit = usable.find((n) => wanted !== undefined && n.Network?.Spec?.Name === wanted) ?? usable[0];
  return hit ? hit.Addresses![0].split('/')[0] : '';
}

function fillTaskPlaceholders(labels: Record<string, string>, v: { slot: string; taskId: string; taskName: string; service: string; node: string }): Record<string, string> {
  const table: Record<string, string> = { 'Task.Slot': v.slot, 'Task.ID': v.taskId, 'Task.Name': v.taskName, 'Service.Name': v.service, 'Node.ID': v.node };
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(labels)) {
    out[k] = val.replace(/\{\{\s*\.(Task\.Slot|Task\.ID|Task\.Name|Service\.Name|Node\.ID)\s*\}\}/g, (_, key: string) => table[key]);
  }
  return out;
}
