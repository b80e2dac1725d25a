#!/usr/bin/env node
import { loadStaticConfig } from './config/load';
import type { StaticConfig } from './config/static';
import { createLogger } from './log/logger';
import { openLogFile } from './log/log-file';
import { errorMessage, PortierError } from './errors';
import { startPortier } from './app';
import { checkCommand } from './commands/check';
import { VERSION } from './version';
import { runEngineCommand } from './engine/index';
import { routesSummary } from './commands/routes-summary';
import { explainCommand } from './explain/command';
import { trustCommand } from './tls/index';
import { dirname } from 'node:path';
import type { ServiceRuntime } from './routing/runtime';
import { errorsOf } from './config/decode';
import { runCommand, RUN_USAGE } from './commands/run';
import { dropAfterListening } from './privileges';
import { serviceCommand, SERVICE_USAGE } from './commands/service';
import cluster from 'node:cluster';
import { serveAsWorker } from './workers/worker';
import { startPrimary } from './workers/primary';

const HELP = `portier ${VERSION}: reverse proxy and service-discovery gateway

Usage:
  portier [--config FILE] [--user NAME|auto] [--<key.path>=VALUE ...]
                                                     run the gateway (as root: bind, then become NAME)
  portier check [--config FILE]                      validate the static and file configuration
  portier explain URL [--method M] [-H 'K: v'] [--entrypoint EP] [--api URL] [--config FILE] [--json]
                                                     which router a URL reaches, and why the near misses do not
  portier up [-f stack.yml] [-p project] [--scale svc=N] [-d]
  portier down [-p project] | ps | logs [-f] [svc] | scale svc=N | restart svc
                                                     drive the runtime core (the engine in a running portier)
  portier engine                                     run the runtime core alone
  ${RUN_USAGE}
                                                     one command with a free $PORT, routed as NAME.localhost
                                                     (default: package.json's name, else the folder) while it runs
  ${SERVICE_USAGE}
                                                     a systemd unit: Portier as that user on :80/:443 (CAP_NET_BIND_SERVICE)
  portier trust | untrust                            add (remove) Portier's local CA to the system trust store
  portier --version | --help

Configuration comes from FILE (YAML, or TOML when it ends in .toml; default
./portier.yaml, else ./portier.toml), PORTIER_* environment variables
(PORTIER_ENTRYPOINTS_WEB_ADDRESS=:8080) and --key.path=value flags
(--entryPoints.web.address=:8080), in Traefik's key names.
`;

interface Parsed {
  command: string;
  file?: string;
  engineSocket?: string;
  flags: string[];
  rest: string[];
}

const ENGINE_COMMANDS = new Set(['up', 'down', 'ps', 'logs', 'scale', 'restart', 'engine']);

function parseArgs(argv: string[]): Parsed {
  const out: Parsed = { command: 'gateway', flags: [], rest: [] };
  const args = [...argv];
  if (args[0] && !args[0].startsWith('-')) out.command = args.shift()!;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--config' || a === '-c') out.file = args[++i];
    else if (a.startsWith('--config=')) out.file = a.slice('--config='.length);
    else if (a === '--engine-socket') out.engineSocket = args[++i];
    else if (a === '--user') out.flags.push(`--user=${args[i + 1] !== undefined && !args[i + 1].startsWith('-') ? args[++i] : 'auto'}`);
    else if (a.startsWith('--engine-socket=')) out.engineSocket = a.slice('--engine-socket='.length);
    else if (a === '--help' || a === '-h') out.command = 'help';
    else if (a === '--version' || a === '-v') out.command = 'version';
    else if (a.startsWith('--')) out.flags.push(a);
    else out.rest.push(a);
  }
  return out;
}

async function run(args: Parsed): Promise<number> {
  const loaded = loadStaticConfig({ file: args.file, flags: args.flags });
  const { config } = loaded;
  const logFile = config.log.filePath ? openLogFile(config.log.filePath) : undefined;
  const log = createLogger({ level: config.log.level, format: config.log.format, write: logFile?.write });
  if (logFile) {
    // As Traefik does: logrotate moves the file, then SIGUSR1 makes Portier write to a new one at the same path.
    process.on('SIGUSR1', () => {
      const failed = logFile.reopen();
      if (failed) log.error('log file: cannot reopen, still writing to the old one', { filePath: config.log.filePath, error: failed });
      else log.info('log file: reopened on SIGUSR1', { filePath: config.log.filePath });
    });
  }
  // A worker of a group (docs/workers.md) serves what its primary sends; the primary said the notices.
  if (cluster.isWorker) return serveAsWorker(config, log), new Promise<number>(() => undefined);
  for (const n of loaded.notices) log.info(n);
  for (const w of loaded.warnings) log.warn(w.message);
  const portier = await (config.workers > 1 ? startPrimary : startPortier)(config, log, {
    baseDir: loaded.file ? dirname(loaded.file) : process.cwd(),
    engineSocket: args.engineSocket,
    listening: dropAfterListening(config, log, args.engineSocket),
  });
  await settle(portier);
  const lines = routesSummary(portier.gateway.table, config, (ep) => portier.gateway.port(ep));
  process.stdout.write(lines.length ? `Portier is serving:\n${lines.join('\n')}\n` : 'Portier is running; no routes yet.\n');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    const deadlineMs = stopDeadlineMs(config);
    log.info('stopping: finishing in-flight requests', { signal, deadlineMs });
    // The grace period bounds the drain; this bounds everything else a stop waits for (a provider, a timer in a
    // library), so that an orchestrator's SIGTERM is never answered with a process that lingers until SIGKILL.
    setTimeout(() => {
      log.error('stopping: deadline passed, exiting with work still pending', { deadlineMs, pending: portier.pending().join('; ') });
      process.exit(1);
    }, deadlineMs).unref();
    portier.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: errorMessage(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => undefined);
}

/** The longest an entrypoint's stop may take (requestAcceptGraceTimeout, then graceTimeOut), plus a second. */
function stopDeadlineMs(config: StaticConfig): number {
  const lifeCycles = Object.values(config.entryPoints).map((ep) => ep.transport.lifeCycle);
  return Math.max(0, ...lifeCycles.map((l) => l.requestAcceptGraceTimeout + l.graceTimeOut)) + 1000;
}

/** Waits (at most 10 s) until every service that has servers has one up, so the printed summary is true. */
/**
 * Waits (at most 10 s) until the routes are worth printing: every replica
 * the runtime core started has passed or failed its first health check, and
 * the table shows a server up for each ready one, so the summary says
 * "3 servers up" for a service of three rather than whichever had passed.
 */
async function settle(portier: Awaited<ReturnType<typeof startPortier>>): Promise<void> {
  const deadline = Date.now() + 10_000;
  const runtime = (): ServiceRuntime[] => [...portier.gateway.table.services.values()].filter((s) => s.provider === 'runtime');
  const up = (s: ServiceRuntime): number => Object.values(s.serverStatus()).filter((v) => v === 'UP').length;
  const pending = (): boolean => {
    const replicas = portier.engine?.list() ?? [];
    if (replicas.some((r) => r.state === 'created' || (r.state === 'running' && r.health?.status === 'starting'))) return true;
    const services = runtime();
    const serving = services.reduce((n, s) => n + up(s), 0);
    return serving < replicas.filter((r) => r.ready).length || services.some((s) => up(s) === 0);
  };
  while (Date.now() < deadline && pending()) await new Promise((r) => setTimeout(r, 100));
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] && ENGINE_COMMANDS.has(argv[0])) return runEngineCommand(argv);
  if (argv[0] === 'explain') return explainCommand(argv.slice(1));
  if (argv[0] === 'run') return runCommand(argv.slice(1));
  if (argv[0] === 'service') return serviceCommand(argv.slice(1));
  const args = parseArgs(argv);
  switch (args.command) {
    case 'help':
      process.stdout.write(HELP);
      return 0;
    case 'version':
      process.stdout.write(`portier ${VERSION}\n`);
      return 0;
    case 'gateway':
      return run(args);
    case 'check':
      return checkCommand(args.file, args.flags);
    case 'trust':
    case 'untrust':
      return trustCommand(args.command);
    default:
      process.stderr.write(`portier: unknown command ${JSON.stringify(args.command)}\n\n${HELP}`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const lines = err instanceof PortierError ? errorsOf(err).map((e) => e.message) : [errorMessage(err)];
      process.stderr.write(lines.map((l) => `portier: ${l}\n`).join(''));
      process.exit(1);
    },
  );
}
