import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PortierError } from '../errors';
import { silentLogger, type Logger } from '../log/logger';
import { parseTime, streamContainerLogs, streamEvents, streamProjectLogs } from './api-streams';
import { inspect, listItem } from './docker-shape';
import type { Engine } from './engine';
import { matchReplica, parseFilters } from './filters';

/** The Docker API version this subset follows; clients negotiate down to it. */
export const API_VERSION = '1.45';
const MIN_API_VERSION = '1.24';
const ENGINE_VERSION = '0.1.0-portier';
const MAX_BODY = 1 << 20;

export interface ApiServerOptions {
  socketPath: string;
  logger?: Logger;
}

/**
 * The engine's API on a unix socket (mode 0600): the subset of the Docker
 * Engine API that discovery and the docker CLI's ps/inspect/events/logs
 * need, with or without a `/v1.xx` prefix, plus Portier's own `/portier/`
 * endpoints (up, down, scale, restart, stacks, logs).
 */
export class EngineApiServer {
  readonly socketPath: string;
  private readonly server: http.Server;
  private readonly log: Logger;

  constructor(
    private readonly engine: Engine,
    opts: ApiServerOptions,
  ) {
    this.socketPath = opts.socketPath;
    this.log = opts.logger ?? silentLogger;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => this.fail(res, err));
    });
  }

  /** Listens; a stale socket left by a dead engine is replaced, a live one is an error. */
  async listen(): Promise<void> {
    mkdirSync(path.dirname(this.socketPath), { recursive: true, mode: 0o700 });
    if (existsSync(this.socketPath)) {
      if (await answers(this.socketPath)) {
        throw new PortierError('ENGINE', `another engine is already listening on ${this.socketPath}`);
      }
      unlinkSync(this.socketPath);
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.socketPath, 0o600);
    this.log.info('engine API listening', { socket: this.socketPath });
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://engine');
    const route = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, '');
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    let m: RegExpExecArray | null;

    if (route === '/_ping' && get) return this.ping(res, method === 'HEAD');
    if (route === '/version' && get) return json(res, 200, this.version());
    if (route === '/info' && get) return json(res, 200, this.info());
    if (route === '/containers/json' && get) {
      const f = parseFilters(q.get('filters'));
      const all = truthy(q.get('all')) || f.status !== undefined;
      let list = this.engine.list().filter((r) => (all || r.state === 'running') && matchReplica(r, f));
      const limit = Number(q.get('limit') ?? -1);
      if (limit > 0) list = list.slice(-limit);
      return json(res, 200, list.reverse().map((r) => listItem(r)));
    }
    if ((m = /^\/containers\/([^/]+)\/json$/.exec(route)) && get) return json(res, 200, inspect(this.replica(m[1])));
    if ((m = /^\/containers\/([^/]+)\/logs$/.exec(route)) && get) {
      const r = this.replica(m[1]);
      const tail = q.get('tail');
      return streamContainerLogs(this.engine, r, res, {
        stdout: truthy(q.get('stdout')),
        stderr: truthy(q.get('stderr')),
        follow: truthy(q.get('follow')),
        tail: tail === null || tail === 'all' || !/^\d+$/.test(tail) ? undefined : Number(tail),
        timestamps: truthy(q.get('timestamps')),
        sinceMs: parseTime(q.get('since')) || undefined,
        untilMs: parseTime(q.get('until')) || undefined,
      });
    }
    if (route === '/events' && get) {
      return streamEvents(this.engine, res, parseFilters(q.get('filters')), parseTime(q.get('since')), parseTime(q.get('until')));
    }
    if (route.startsWith('/portier/')) return this.portier(route.slice('/portier/'.length), method, req, res, q);
    throw new PortierError('BAD_REQUEST', `page not found: ${method} ${url.pathname} is not part of the runtime core's API`, { status: 404 });
  }

  private async portier(route: string, method: string, req: http.IncomingMessage, res: http.ServerResponse, q: URLSearchParams): Promise<void> {
    if (route === 'stacks' && method === 'GET') return json(res, 200, this.engine.projects());
    if (route === 'logs' && method === 'GET') {
      const tail = q.get('tail');
      return streamProjectLogs(this.engine, res, this.projectName(q.get('project')), q.get('service') ?? undefined, truthy(q.get('follow')), tail !== null && /^\d+$/.test(tail) ? Number(tail) : undefined);
    }
    if (method !== 'POST') throw new PortierError('BAD_REQUEST', `page not found: ${method} /portier/${route}`, { status: 404 });
    const body = await readJson(req);
    switch (route) {
      case 'up': {
        if (typeof body.file !== 'string') throw new PortierError('BAD_REQUEST', 'file: expected the stack file path', { status: 400 });
        const scale = (body.scale ?? {}) as Record<string, number>;
        return json(res, 201, await this.engine.up(body.file, { project: optionalString(body.project, 'project'), scale }));
      }
      case 'down':
        await this.engine.down(this.projectName(body.project));
        return json(res, 200, { down: body.project });
      case 'scale': {
        const project = this.projectName(body.project);
        if (typeof body.service !== 'string' || typeof body.replicas !== 'number') {
          throw new PortierError('BAD_REQUEST', 'expected {project, service, replicas}', { status: 400 });
        }
        await this.engine.scale(project, body.service, body.replicas);
        return json(res, 200, this.engine.projects().find((p) => p.name === project));
      }
      case 'restart': {
        const project = this.projectName(body.project);
        await this.engine.restart(project, optionalString(body.service, 'service'));
        return json(res, 200, this.engine.projects().find((p) => p.name === project));
      }
    }
    throw new PortierError('BAD_REQUEST', `page not found: POST /portier/${route}`, { status: 404 });
  }

  private projectName(raw: unknown): string {
    if (typeof raw === 'string' && raw !== '') return raw;
    throw new PortierError('BAD_REQUEST', 'project: expected a project name', { status: 400 });
  }

  private replica(idOrName: string): NonNullable<ReturnType<Engine['find']>> {
    const r = this.engine.find(decodeURIComponent(idOrName));
    if (!r) throw new PortierError('BAD_REQUEST', `No such container: ${idOrName}`, { status: 404 });
    return r;
  }

  private ping(res: http.ServerResponse, head: boolean): void {
    res.writeHead(200, {
      'api-version': API_VERSION,
      'docker-experimental': 'false',
      ostype: 'linux',
      'cache-control': 'no-cache, no-store, must-revalidate',
      pragma: 'no-cache',
      'content-type': 'text/plain; charset=utf-8',
    });
    res.end(head ? undefined : 'OK');
  }

  private version(): Record<string, unknown> {
    const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: os.release() };
    return {
      Platform: { Name: 'Portier runtime core' },
      Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: details }],
      Version: ENGINE_VERSION,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      BuildTime: '',
      ...details,
    };
  }

  private info(): Record<string, unknown> {
    const all = this.engine.list();
    return {
      ID: 'portier-runtime',
      Containers: all.length,
      ContainersRunning: all.filter((r) => r.state === 'running').length,
      ContainersPaused: 0,
      ContainersStopped: all.filter((r) => r.state !== 'running').length,
      Images: 0,
      Driver: 'portier',
      Name: os.hostname(),
      ServerVersion: ENGINE_VERSION,
      OperatingSystem: 'Portier runtime core',
      OSType: 'linux',
      Architecture: os.arch(),
      KernelVersion: os.release(),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      Labels: [],
      Swarm: { LocalNodeState: 'inactive' },
      Warnings: [],
    };
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    const status = err instanceof PortierError ? (err.status ?? 400) : 500;
    if (status === 500) this.log.error('engine API error', { error: String(err) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    json(res, status, { message: err instanceof Error ? err.message : String(err), ...(err instanceof PortierError ? { code: err.code } : {}) });
  }
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'api-version': API_VERSION });
  res.end(text);
}

function truthy(v: string | null): boolean {
  return v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function optionalString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new PortierError('BAD_REQUEST', `${name}: expected a string`, { status: 400 });
  return v;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new PortierError('BAD_REQUEST', 'request body too large', { status: 413 });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString() || '{}';
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new PortierError('BAD_REQUEST', 'expected a JSON object body', { status: 400 });
}

/** True when something accepts connections on the socket. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', ia32: '386' } as Record<string, string>)[os.arch()] ?? os.arch();
}
