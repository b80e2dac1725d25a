import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Engine, ProjectSummary } from '../engine/index';
import { EngineClient } from '../engine/client';
import { PortierError } from '../errors';

/**
 * How `portier run` puts its route into a runtime core, the one of a
 * running Portier (through its engine socket) or its own: as a one-service
 * stack whose router sends `<name>.localhost` to the command's port. The
 * stack's only process is a stand-in that lives as long as `portier run`
 * does (it watches that pid), so a `portier run` that is killed outright
 * still loses its route within a second, while the command itself stays
 * in the terminal, with its user, environment and TTY.
 */
export interface RouteTarget {
  /** Where the route lives, for the message: a socket path or "this process". */
  readonly where: string;
  projects(): Promise<ProjectSummary[]>;
  up(file: string, project: string): Promise<void>;
  down(project: string): Promise<void>;
}

export function socketTarget(socketPath: string): RouteTarget {
  const client = new EngineClient(socketPath);
  return {
    where: socketPath,
    projects: () => client.call<ProjectSummary[]>('GET', '/portier/stacks'),
    up: async (file, project) => void (await client.call('POST', '/portier/up', { file, project })),
    down: async (project) => void (await client.call('POST', '/portier/down', { project })),
  };
}

export function engineTarget(engine: Engine): RouteTarget {
  return {
    where: 'this process',
    projects: async () => engine.projects(),
    up: async (file, project) => void (await engine.up(file, { project })),
    down: (project) => engine.down(project),
  };
}

/** A host label: lowercase letters, digits and `-`, dots between labels (`api.shop`). */
const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** `--name`, else `name` in ./package.json (its scope dropped), else the folder's name; made a host name. */
export function routeName(flag: string | undefined, cwd: string): string {
  if (flag !== undefined) {
    const n = flag.toLowerCase().replace(/\.localhost$/, '');
    if (!NAME.test(n)) throw new PortierError('CONFIG_INVALID', `expected a host name (letters, digits, - and dots), got ${JSON.stringify(flag)}`, { path: '--name' });
    return n;
  }
  let name = path.basename(path.resolve(cwd));
  const pkg = path.join(cwd, 'package.json');
  if (existsSync(pkg)) {
    try {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown };
      if (typeof parsed.name === 'string' && parsed.name !== '') name = parsed.name.replace(/^@[^/]*\//, '');
    } catch {
      // An unreadable package.json names nothing: the folder does.
    }
  }
  const cleaned = name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').replace(/\.{2,}/g, '.');
  return NAME.test(cleaned) ? cleaned : 'app';
}

/** The runtime project that carries the route: `run-api-shop` for `api.shop`. */
export const projectOf = (name: string): string => `run-${name.replace(/\./g, '-')}`;

/**
 * Writes the stand-in stack (JSON, which stack files accept as YAML) in a
 * folder of its own, readable by an engine running as another user.
 * Returns its path and a cleanup.
 */
export function writeRouteStack(name: string, port: number, watchPid: number): { file: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'portier-run-'));
  chmodSync(dir, 0o755);
  const router = projectOf(name);
  const stack = {
    name: projectOf(name),
    services: {
      app: {
        // `$$` is a literal `$` to the stack file's interpolation.
        command: ['sh', '-c', 'while [ -d "/proc/$$0" ]; do sleep 1; done', String(watchPid)],
        restart: 'no',
        stop_grace_period: '1s',
        labels: {
          [`portier.http.routers.${router}.rule`]: `Host(\`${name}.localhost\`)`,
          [`portier.http.routers.${router}.service`]: router,
          [`portier.http.services.${router}.loadbalancer.server.url`]: `http://127.0.0.1:${port}`,
        },
      },
    },
  };
  const file = path.join(dir, 'stack.json');
  writeFileSync(file, JSON.stringify(stack, null, 2), { mode: 0o644 });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Adds the route; a leftover of an earlier `portier run` of the same name
 * whose stand-in has exited is replaced, a live one is an error.
 */
export async function addRoute(target: RouteTarget, name: string, file: string): Promise<void> {
  const project = projectOf(name);
  const existing = (await target.projects()).find((p) => p.name === project);
  if (existing) {
    if (existing.services.some((s) => s.running > 0)) {
      throw new PortierError('ENGINE', `${name}.localhost is already routed by another \`portier run\` (project ${project} at ${target.where}); pick another --name`);
    }
    await target.down(project);
  }
  await target.up(file, project);
}
