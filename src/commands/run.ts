import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { loadStaticConfig } from '../config/load';
import type { StaticConfig } from '../config/static';
import { createLogger } from '../log/logger';
import { startPortier, type Portier } from '../app';
import { engineSocketPath } from '../engine/socket-path';
import { freePort } from '../engine/free-port';
import { PortierError, errorMessage } from '../errors';
import { servedUrls } from '../server/served-urls';
import { addRoute, engineTarget, projectOf, routeName, socketTarget, writeRouteStack, type RouteTarget } from './run-route';

const SERVICE_SOCKET = '/run/portier/engine.sock';

export const RUN_USAGE = 'portier run [--name N] [--port-env VAR] [--engine-socket PATH] [--key.path=VALUE ...] -- CMD [ARGS...]';

interface RunArgs {
  name?: string;
  portEnv: string;
  engineSocket?: string;
  config?: string;
  /** Static configuration flags for a Portier started here. */
  flags: string[];
  command: string[];
}

function parseRunArgs(argv: string[]): RunArgs {
  const out: RunArgs = { portEnv: 'PORT', flags: [], command: [] };
  const value = (i: number, flag: string): string => {
    if (argv[i] === undefined) throw new PortierError('CONFIG_MISSING', 'expects a value', { path: flag });
    return argv[i];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (a === '--') {
      out.command = argv.slice(i + 1);
      break;
    }
    if (flag === '--name') out.name = inline ?? value(++i, flag);
    else if (flag === '--port-env') out.portEnv = inline ?? value(++i, flag);
    else if (flag === '--engine-socket') out.engineSocket = inline ?? value(++i, flag);
    else if (flag === '--config' || flag === '-c') out.config = inline ?? value(++i, flag);
    else if (a.startsWith('--')) out.flags.push(a);
    else {
      out.command = argv.slice(i);
      break;
    }
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(out.portEnv)) throw new PortierError('CONFIG_INVALID', `expected an environment variable name, got ${JSON.stringify(out.portEnv)}`, { path: '--port-env' });
  if (out.command.length === 0) throw new PortierError('CONFIG_MISSING', `no command to run\nusage: ${RUN_USAGE}`);
  return out;
}

/** True when an engine answers on the socket. */
function engineAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

interface Own {
  portier: Portier;
  config: StaticConfig;
}

/** A Portier of this process's own: runtime core only, no config file of the working folder, quiet unless asked. */
async function ownPortier(args: RunArgs, socketPath: string): Promise<Own> {
  const empty = mkdtempSync(path.join(tmpdir(), 'portier-run-config-'));
  try {
    const flags = ['--log.level=warn', '--providers.runtime.exposedByDefault=true', ...args.flags];
    const { config, notices, warnings } = loadStaticConfig({ file: args.config, flags, cwd: empty, env: { ...process.env, PORTIER_CONFIG: undefined } });
    const log = createLogger({ level: config.log.level, format: config.log.format });
    for (const n of notices) log.info(n);
    for (const w of warnings) log.warn(w.message);
    return { portier: await startPortier(config, log, { baseDir: process.cwd(), engineSocket: socketPath }), config };
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

/**
 * `portier run`: the command in this terminal (its output, its TTY, this
 * user and environment) with a free port in $PORT (or --port-env), routed
 * as `<name>.localhost` over HTTP and HTTPS by the Portier whose engine
 * socket answers, or by one started here when none does; the route goes
 * when the command exits, and its exit code is this one's. SIGINT, SIGTERM
 * and SIGHUP are passed on to the command.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  const name = routeName(args.name, process.cwd());
  const socketPath = engineSocketPath(args.engineSocket);
  // A Portier installed as a service (portier service install) listens on /run/portier whoever runs it.
  const candidates = args.engineSocket || process.env.PORTIER_ENGINE_SOCKET ? [socketPath] : [socketPath, SERVICE_SOCKET];
  const port = await freePort();
  let own: Own | undefined;
  let target: RouteTarget;
  let running: string | undefined;
  for (const candidate of candidates) if (!running && (await engineAnswers(candidate))) running = candidate;
  if (running) target = socketTarget(running);
  else {
    own = await ownPortier(args, socketPath);
    if (!own.portier.engine) {
      await own.portier.close(1000);
      throw new PortierError('ENGINE', 'the runtime provider is off in this configuration: `portier run` routes through it');
    }
    target = engineTarget(own.portier.engine);
  }
  const stack = writeRouteStack(name, port, process.pid);
  try {
    await addRoute(target, name, stack.file);
  } catch (err) {
    stack.remove();
    await own?.portier.close(1000);
    throw err;
  }
  stack.remove();
  process.stderr.write(announce(name, port, args.portEnv, target, own && (await ownUrls(own, name))));
  const code = await runChild(args, port);
  await target.down(projectOf(name)).catch((err: unknown) => process.stderr.write(`portier run: could not remove the route: ${errorMessage(err)}\n`));
  await own?.portier.close(1000);
  return code;
}

/** The URLs a Portier started here serves the route on, once its table has it (at most 3 s). */
async function ownUrls(own: Own, name: string): Promise<string[]> {
  const { gateway } = own.portier;
  const router = `${projectOf(name)}@runtime`;
  for (let i = 0; i < 60 && !gateway.table.routers.has(router); i++) await new Promise((r) => setTimeout(r, 50));
  return servedUrls(gateway.table, own.config, (ep) => gateway.port(ep)).flatMap((u) => (u.router === router && u.url ? [u.url] : []));
}

function announce(name: string, port: number, portEnv: string, target: RouteTarget, ownUrls: string[] | undefined): string {
  const urls = ownUrls?.length ? ownUrls : [`http://${name}.localhost/`, `https://${name}.localhost/`];
  const via = ownUrls ? 'a Portier started for this run' : `the Portier at ${target.where}`;
  return `portier run: ${urls.join(' and ')} → 127.0.0.1:${port} (${portEnv}=${port}), through ${via}\n`;
}

/** Runs the command to its end; its exit code, or 128 + the signal's number as a shell reports it. */
function runChild(args: RunArgs, port: number): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...rest] = args.command;
    const child: ChildProcess = spawn(cmd, rest, { stdio: 'inherit', env: { ...process.env, [args.portEnv]: String(port) } });
    const forward = (signal: NodeJS.Signals) => (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const done = (code: number): void => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code);
    };
    child.once('error', (err) => {
      process.stderr.write(`portier run: cannot start ${JSON.stringify(cmd)}: ${err.message}\n`);
      done(127);
    });
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}
