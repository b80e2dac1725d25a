import { createHash } from 'node:crypto';
import { RUNTIME_IMAGE } from './events';
import type { Replica } from './replica';

/**
 * Replicas in the JSON shapes of the Docker Engine API (`/containers/json`
 * and `/containers/{id}/json`), with Docker's field names, so the docker
 * CLI, dockerode and Traefik-style tooling read them unchanged. Replicas use
 * the host network: NetworkMode "host", their PORT published on 127.0.0.1.
 */
export const IMAGE_ID = 'sha256:' + createHash('sha256').update(RUNTIME_IMAGE).digest('hex');
const ZERO_TIME = '0001-01-01T00:00:00Z';

export function listItem(r: Replica, now = Date.now()): Record<string, unknown> {
  return {
    Id: r.id,
    Names: ['/' + r.name],
    Image: RUNTIME_IMAGE,
    ImageID: IMAGE_ID,
    Command: r.commandLine.join(' '),
    Created: Math.floor(r.created.getTime() / 1000),
    Ports: [{ IP: '127.0.0.1', PrivatePort: r.port, PublicPort: r.port, Type: 'tcp' }],
    Labels: r.labels,
    State: r.state,
    Status: statusText(r, now),
    HostConfig: { NetworkMode: 'host' },
    NetworkSettings: { Networks: { host: network() } },
    Mounts: [],
  };
}

export function inspect(r: Replica): Record<string, unknown> {
  const [path, ...args] = r.commandLine;
  const hc = r.spec.healthcheck;
  const env = Object.entries(r.env).map(([k, v]) => `${k}=${v}`);
  return {
    Id: r.id,
    Created: r.created.toISOString(),
    Path: path,
    Args: args,
    State: {
      Status: r.state,
      Running: r.state === 'running',
      Paused: false,
      Restarting: r.state === 'restarting',
      OOMKilled: false,
      Dead: false,
      Pid: r.pid,
      ExitCode: r.exitCode,
      Error: r.error,
      StartedAt: r.startedAt?.toISOString() ?? ZERO_TIME,
      FinishedAt: r.finishedAt?.toISOString() ?? ZERO_TIME,
      ...(r.health ? { Health: { Status: r.health.status, FailingStreak: r.health.failingStreak, Log: r.health.log } } : {}),
    },
    Image: IMAGE_ID,
    Name: '/' + r.name,
    RestartCount: r.restartCount,
    Driver: 'portier',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    HostConfig: {
      NetworkMode: 'host',
      RestartPolicy: { Name: r.spec.restart.mode, MaximumRetryCount: r.spec.restart.maxRetries },
      PortBindings: {},
      AutoRemove: false,
    },
    Mounts: [],
    Config: {
      Hostname: r.name,
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      ExposedPorts: { [`${r.port}/tcp`]: {} },
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: env,
      Cmd: r.commandLine,
      Image: RUNTIME_IMAGE,
      WorkingDir: r.spec.workingDir,
      Entrypoint: null,
      Labels: r.labels,
      StopTimeout: Math.ceil(r.spec.stopGraceMs / 1000),
      ...(hc
        ? {
            Healthcheck: {
              Test: hc.test.kind === 'exec' ? ['CMD', ...hc.test.argv] : hc.test.kind === 'shell' ? ['CMD-SHELL', hc.test.script] : ['HTTP', hc.test.path],
              Interval: hc.intervalMs * 1e6,
              Timeout: hc.timeoutMs * 1e6,
              Retries: hc.retries,
              StartPeriod: hc.startPeriodMs * 1e6,
            },
          }
        : {}),
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      Ports: { [`${r.port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(r.port) }] },
      IPAddress: '',
      Networks: { host: network() },
    },
  };
}

/** Docker's Status column: "Up 3 seconds (healthy)", "Exited (1) 2 minutes ago". */
export function statusText(r: Replica, now = Date.now()): string {
  switch (r.state) {
    case 'created':
      return 'Created';
    case 'running': {
      const health = r.health ? ` (${r.health.status === 'starting' ? 'health: starting' : r.health.status})` : '';
      return `Up ${humanDuration(now - (r.startedAt?.getTime() ?? now))}${health}`;
    }
    case 'restarting':
      return `Restarting (${r.exitCode}) ${humanDuration(now - (r.finishedAt?.getTime() ?? now))} ago`;
    case 'exited':
      return `Exited (${r.exitCode}) ${humanDuration(now - (r.finishedAt?.getTime() ?? now))} ago`;
  }
}

/** Docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}

function network(): Record<string, unknown> {
  return { NetworkID: 'host', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' };
}
