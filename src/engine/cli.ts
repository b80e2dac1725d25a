import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { errorMessage, PortierError } from '../errors';
import { createLogger } from '../log/logger';
import { EngineApiServer } from './api-server';
import { EngineClient } from './client';
import { Engine, type ProjectSummary } from './engine';
import { engineSocketPath } from './socket-path';
import { loadStackFile } from './stack';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const USAGE = `usage:
  portier up [-f stack.yml]... [-p project] [--scale svc=N]... [-d]
  portier down [-f stack.yml] [-p project]
  portier ps [-p project]
  portier logs [-f] [--tail N] [-p project] [service]
  portier scale [-p project] service=N...
  portier restart [-p project] [service]
  portier engine
every command takes --engine-socket PATH (or PORTIER_ENGINE_SOCKET)`;

const STACK_FILES = ['stack.yml', 'stack.yaml', 'compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

interface Args {
  command: string;
  files: string[];
  project?: string;
  scale: Record<string, number>;
  detach: boolean;
  follow: boolean;
  tail?: number;
  socket?: string;
  positional: string[];
}

/**
 * The runtime core's commands. Every command but `engine` talks to a
 * running engine over its socket; `engine` runs one in the foreground until
 * SIGINT or SIGTERM, then stops every replica. Returns the exit code.
 */
export async function runEngineCommand(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const out: CliIO = {
    stdout: io.stdout ?? ((s) => process.stdout.write(s)),
    stderr: io.stderr ?? ((s) => process.stderr.write(s)),
    cwd: io.cwd ?? process.cwd(),
    env: io.env ?? process.env,
  };
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    out.stderr(`portier: ${errorMessage(err)}\n${USAGE}\n`);
    return 2;
  }
  const socket = engineSocketPath(args.socket, out.env);
  try {
    if (args.command === 'engine') return await runEngine(socket, out);
    const client = new EngineClient(socket);
    switch (args.command) {
      case 'up':
        return await up(client, args, out);
      case 'down': {
        const project = await resolveProject(client, args, out);
        await client.call('POST', '/portier/down', { project });
        out.stdout(`${project}: down\n`);
        return 0;
      }
      case 'ps':
        return await ps(client, args, out);
      case 'logs': {
        const project = await resolveProject(client, args, out);
        return await followLogs(client, project, args.positional[0], args.follow, args.tail, out);
      }
      case 'scale': {
        const project = await resolveProject(client, args, out);
        const targets = args.positional.map(parseScale);
        if (targets.length === 0) throw new PortierError('BAD_REQUEST', 'scale: expected service=N');
        for (const [service, replicas] of targets) {
          await client.call('POST', '/portier/scale', { project, service, replicas });
          out.stdout(`${project}-${service}: ${replicas} replica${replicas === 1 ? '' : 's'}\n`);
        }
        return 0;
      }
      case 'restart': {
        const project = await resolveProject(client, args, out);
        await client.call('POST', '/portier/restart', { project, service: args.positional[0] });
        out.stdout(`${project}${args.positional[0] ? `-${args.positional[0]}` : ''}: restarted\n`);
        return 0;
      }
    }
    throw new PortierError('BAD_REQUEST', `unknown command ${JSON.stringify(args.command)}`);
  } catch (err) {
    out.stderr(`portier ${args.command}: ${errorMessage(err)}\n`);
    return 1;
  }
}

async function up(client: EngineClient, args: Args, io: CliIO): Promise<number> {
  const files = args.files.length > 0 ? args.files.map((f) => path.resolve(io.cwd, f)) : [defaultStackFile(io.cwd)];
  if (files.length > 1 && args.project) throw new PortierError('BAD_REQUEST', '-p names one project; with several -f files each file is its own project');
  const projects: string[] = [];
  for (const file of files) {
    const summary = await client.call<ProjectSummary>('POST', '/portier/up', { file, project: args.project, scale: args.scale });
    projects.push(summary.name);
    for (const s of summary.services) io.stdout(`${summary.name}-${s.name}: ${s.replicas} replica${s.replicas === 1 ? '' : 's'} started\n`);
  }
  if (args.detach) return 0;
  // Attached: follow the logs; Ctrl-C (or SIGTERM) brings the projects down, as compose does.
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await Promise.all(projects.map((p) => followLogs(client, p, undefined, true, undefined, io, abort.signal)));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (abort.signal.aborted) {
    for (const project of projects) {
      io.stdout(`${project}: stopping\n`);
      await client.call('POST', '/portier/down', { project }).catch((err) => io.stderr(`portier down: ${errorMessage(err)}\n`));
    }
  }
  return 0;
}

async function ps(client: EngineClient, args: Args, io: CliIO): Promise<number> {
  const list = await client.call<Record<string, unknown>[]>('GET', `/containers/json?all=1`);
  const rows = list
    .map((c) => {
      const labels = c.Labels as Record<string, string>;
      const port = (c.Ports as { PublicPort: number }[])[0]?.PublicPort;
      return [(c.Names as string[])[0].slice(1), labels['com.docker.compose.project'], labels['com.docker.compose.service'], String(c.Status), port ? `127.0.0.1:${port}` : ''];
    })
    .filter((r) => args.project === undefined || r[1] === args.project)
    .sort((a, b) => a[0].localeCompare(b[0], undefined, { numeric: true }));
  io.stdout(table([['NAME', 'PROJECT', 'SERVICE', 'STATUS', 'ADDRESS'], ...rows]));
  return 0;
}

async function followLogs(client: EngineClient, project: string, service: string | undefined, follow: boolean, tail: number | undefined, io: CliIO, signal?: AbortSignal): Promise<number> {
  const q = new URLSearchParams({ project, follow: follow ? '1' : '0' });
  if (service) q.set('service', service);
  if (tail !== undefined) q.set('tail', String(tail));
  await client.stream(
    `/portier/logs?${q}`,
    (line) => {
      if (line === '') return;
      const l = JSON.parse(line) as { name: string; stream: string; text: string };
      (l.stream === 'stderr' ? io.stderr : io.stdout)(`${l.name} | ${l.text}\n`);
    },
    signal,
  );
  return 0;
}

async function runEngine(socket: string, io: CliIO): Promise<number> {
  const logger = createLogger({ level: io.env.PORTIER_LOG_LEVEL === 'debug' ? 'debug' : 'info' });
  const engine = new Engine({ logger, env: io.env });
  const api = new EngineApiServer(engine, { socketPath: socket, logger });
  try {
    await api.listen();
  } catch (err) {
    await engine.close();
    throw err;
  }
  io.stdout(`portier engine: listening on ${socket}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  io.stdout(`portier engine: ${signal}, stopping every replica\n`);
  await api.close();
  await engine.close();
  return 0;
}

/** -p, else the stack file's project, else the only project running. */
async function resolveProject(client: EngineClient, args: Args, io: CliIO): Promise<string> {
  if (args.project) return args.project;
  const file = args.files[0] ? path.resolve(io.cwd, args.files[0]) : STACK_FILES.map((f) => path.join(io.cwd, f)).find((f) => existsSync(f));
  if (file) return loadStackFile(file, { env: io.env }).project;
  const running = await client.call<ProjectSummary[]>('GET', '/portier/stacks');
  if (running.length === 1) return running[0].name;
  throw new PortierError('BAD_REQUEST', running.length === 0 ? 'no project is running' : `several projects are running (${running.map((p) => p.name).join(', ')}): choose one with -p`);
}

function defaultStackFile(cwd: string): string {
  const found = STACK_FILES.map((f) => path.join(cwd, f)).find((f) => existsSync(f));
  if (!found) throw new PortierError('BAD_REQUEST', `no stack file in ${cwd} (looked for ${STACK_FILES.join(', ')}); pass one with -f`);
  return found;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: argv[0] ?? '', files: [], scale: {}, detach: false, follow: false, positional: [] };
  if (!args.command || args.command.startsWith('-')) throw new Error('expected a command');
  for (let i = 1; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-f':
      case '--file':
        if (args.command === 'logs' && inline === undefined && flag === '-f') args.follow = true;
        else args.files.push(value());
        break;
      case '--follow':
        args.follow = true;
        break;
      case '-p':
      case '--project-name':
        args.project = value();
        break;
      case '--scale': {
        const [svc, n] = parseScale(value());
        args.scale[svc] = n;
        break;
      }
      case '-d':
      case '--detach':
        args.detach = true;
        break;
      case '--tail':
      case '-n': {
        const v = value();
        if (v !== 'all' && !/^\d+$/.test(v)) throw new Error(`--tail: expected a number or all, got ${JSON.stringify(v)}`);
        args.tail = v === 'all' ? undefined : Number(v);
        break;
      }
      case '--engine-socket':
        args.socket = value();
        break;
      default:
        if (flag.startsWith('-')) throw new Error(`unknown flag ${flag}`);
        args.positional.push(flag);
    }
  }
  return args;
}

function parseScale(spec: string): [string, number] {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]*)=(\d+)$/.exec(spec);
  if (!m) throw new PortierError('BAD_REQUEST', `expected service=N, got ${JSON.stringify(spec)}`);
  return [m[1], Number(m[2])];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd() + '\n').join('');
}
