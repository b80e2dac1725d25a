import http from 'node:http';
import https from 'node:https';
import type { HealthCheckConfig } from '../dynamic/model';
import { duration } from '../config/decode';
import type { ServerState } from './server-state';
import type { Logger } from '../log/logger';

/**
 * Active health checks, Traefik's semantics: GET `path` on each server every
 * `interval` (30s), `timeout` (5s); healthy on 2xx/3xx or exactly `status`
 * when set. A server that fails is taken out and checked on; it comes back on
 * the first pass.
 */
export class HealthChecker {
  private timers: NodeJS.Timeout[] = [];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    private readonly cfg: HealthCheckConfig,
    private readonly servers: ServerState[],
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {
    this.intervalMs = cfg.interval ? duration(cfg.interval, 'healthCheck.interval') : 30_000;
    this.timeoutMs = cfg.timeout ? duration(cfg.timeout, 'healthCheck.timeout') : 5_000;
  }

  start(): void {
    for (const server of this.servers) {
      const tick = (): void => {
        if (this.closed) return;
        void this.check(server).then(() => {
          if (!this.closed) this.timers.push(setTimeout(tick, this.intervalMs).unref());
        });
      };
      tick();
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  private async check(server: ServerState): Promise<void> {
    const ok = await this.probe(server.url);
    const changed = ok ? server.checkPassed() : server.checkFailed();
    if (changed && !this.closed) {
      this.log.info(ok ? 'server is back up' : 'server failed its health check', { server: server.url });
      this.onChange();
    }
  }

  private probe(serverUrl: string): Promise<boolean> {
    const base = new URL(serverUrl);
    if (this.cfg.scheme) base.protocol = `${this.cfg.scheme}:`;
    if (this.cfg.port) base.port = String(this.cfg.port);
    const target = new URL(this.cfg.path, base);
    const client = target.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const req = client.request(
        target,
        {
          method: this.cfg.method ?? 'GET',
          headers: { ...this.cfg.headers, ...(this.cfg.hostname ? { host: this.cfg.hostname } : {}) },
          timeout: this.timeoutMs,
          agent: false,
          rejectUnauthorized: false,
        },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve(this.cfg.status ? code === this.cfg.status : code >= 200 && code < 400);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
  }
}
