import net from 'node:net';
import { duration } from '../config/decode';
import type { Logger } from '../log/logger';
import type { TcpHealthCheckConfig, TcpServerConfig } from '../dynamic/model';
import type { TcpTransportOptions } from './dialer';

/**
 * Traefik v3's TCP health check: a connection to each server every
 * `interval` (default 30 s; `unhealthyInterval` while it is down), within
 * `timeout` (default 5 s); with `send`, those bytes are written and the
 * answer must contain `expect` (any answer without it). A server is up
 * until its first check says otherwise.
 */
export class TcpHealthCheck {
  private readonly down = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private readonly intervalMs: number;
  private readonly unhealthyMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly servers: TcpServerConfig[],
    private readonly cfg: TcpHealthCheckConfig,
    private readonly transport: TcpTransportOptions,
    private readonly log: Logger,
    private readonly changed: () => void,
    private readonly cameUp: (address: string) => void,
  ) {
    this.intervalMs = cfg.interval ? duration(cfg.interval, 'healthCheck.interval') : 30_000;
    this.unhealthyMs = cfg.unhealthyInterval ? duration(cfg.unhealthyInterval, 'healthCheck.unhealthyInterval') : this.intervalMs;
    this.timeoutMs = cfg.timeout ? duration(cfg.timeout, 'healthCheck.timeout') : 5_000;
  }

  isUp(address: string): boolean {
    return !this.down.has(address);
  }

  start(): void {
    for (const s of this.servers) this.schedule(s.address, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
  }

  private schedule(address: string, delay: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => void this.check(address), delay);
    t.unref();
    this.timers.set(address, t);
  }

  private async check(address: string): Promise<void> {
    const error = await this.probe(address);
    if (this.stopped) return;
    const wasUp = !this.down.has(address);
    if (error === undefined) this.down.delete(address);
    else this.down.add(address);
    if (wasUp !== (error === undefined)) {
      if (error === undefined) this.cameUp(address);
      this.log.info(error === undefined ? 'TCP server is up' : 'TCP server is down', { server: address, ...(error ? { error } : {}) });
      this.changed();
    }
    this.schedule(address, error === undefined ? this.intervalMs : this.unhealthyMs);
  }

  private probe(address: string): Promise<string | undefined> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '');
    const port = this.cfg.port ?? Number(address.slice(i + 1));
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      let answer = '';
      const done = (error?: string): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(error);
      };
      const timer = setTimeout(() => done(`no ${this.cfg.send ? 'answer' : 'connection'} within ${this.timeoutMs} ms`), Math.min(this.timeoutMs, this.transport.dialTimeoutMs));
      socket.once('error', (err) => done(err.message));
      socket.once('connect', () => {
        if (this.cfg.send === undefined) return done();
        socket.write(this.cfg.send);
        if (this.cfg.expect === undefined) return socket.once('data', () => done());
        socket.on('data', (b: Buffer) => {
          answer += b.toString('latin1');
          if (answer.includes(this.cfg.expect!)) done();
          else if (answer.length > 65536) done(`the answer does not contain ${JSON.stringify(this.cfg.expect)}`);
        });
      });
      socket.once('end', () => done(`the server closed the connection before answering ${JSON.stringify(this.cfg.expect ?? '')}`));
    });
  }
}
