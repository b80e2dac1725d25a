import type net from 'node:net';
import { SmoothWeightedRoundRobin } from '../balancer/wrr';
import { duration } from '../config/decode';
import type { Logger } from '../log/logger';
import type { TcpLoadBalancerConfig, TcpServerConfig } from '../dynamic/model';
import { refuse, type TcpConn, type TcpHandler } from './conn';
import { dial, DialError, type TcpTransportOptions } from './dialer';
import { relay } from './relay';
import { TcpHealthCheck } from './health-check';

/** How long a server that refused a connection is left out (unless its health check says it is up sooner). */
export const EJECT_MS = 10_000;

/**
 * A TCP `loadBalancer`: weighted round robin over its servers. A server
 * that refuses a connection (or does not answer within the dial timeout) is
 * ejected for EJECT_MS, so the next connection goes to another; the
 * refused client's connection is closed (its first bytes may already be
 * spent). With a health check, servers it finds down are skipped until it
 * finds them up. With every server out, the least recently ejected is
 * tried rather than refusing outright.
 */
export class TcpBalancer {
  private readonly wrr: SmoothWeightedRoundRobin<TcpServerConfig>;
  private readonly ejectedUntil = new Map<string, number>();
  private readonly health?: TcpHealthCheck;

  constructor(
    readonly name: string,
    private readonly cfg: TcpLoadBalancerConfig,
    private readonly transport: TcpTransportOptions,
    private readonly log: Logger,
    onHealthChange: () => void,
  ) {
    this.wrr = new SmoothWeightedRoundRobin(cfg.servers.map((s) => ({ item: s, weight: s.weight ?? 1 })));
    if (cfg.healthCheck) this.health = new TcpHealthCheck(cfg.servers, cfg.healthCheck, transport, log, onHealthChange, (a: string) => this.ejectedUntil.delete(a));
  }

  start(): void {
    this.health?.start();
  }

  close(): void {
    this.health?.stop();
  }

  serverStatus(): Record<string, 'UP' | 'DOWN'> {
    const now = Date.now();
    return Object.fromEntries(this.cfg.servers.map((s) => [s.address, this.up(s, now) ? 'UP' : 'DOWN']));
  }

  private up(s: TcpServerConfig, now: number): boolean {
    return (this.ejectedUntil.get(s.address) ?? 0) <= now && this.health?.isUp(s.address) !== false;
  }

  private pick(): TcpServerConfig | undefined {
    const now = Date.now();
    const server = this.wrr.next((s) => this.up(s, now));
    if (server) return server;
    const out = this.cfg.servers.filter((s) => this.health?.isUp(s.address) !== false);
    return out.sort((a, b) => (this.ejectedUntil.get(a.address) ?? 0) - (this.ejectedUntil.get(b.address) ?? 0))[0];
  }

  readonly handler: TcpHandler = (conn) => {
    const server = this.pick();
    if (!server) return refuse(conn, `service ${this.name} has no server`);
    dial(server.address, server.tls === true, this.transport, conn).then(
      (upstream) => this.forward(conn, upstream),
      (err: DialError) => {
        if (err.refused) {
          this.ejectedUntil.set(server.address, Date.now() + EJECT_MS);
          this.log.warn('TCP server refused a connection; ejected for a while', { service: this.name, server: server.address, error: err.message, ejectMs: EJECT_MS });
        }
        refuse(conn, err.message);
      },
    );
  };

  private forward(conn: TcpConn, upstream: net.Socket): void {
    if (conn.socket.destroyed) {
      upstream.destroy();
      return conn.closed('client left before the server answered');
    }
    if (conn.head.length) upstream.write(conn.head);
    relay(conn.socket, upstream, { terminationDelayMs: this.transport.terminationDelayMs }, () => conn.closed());
    conn.socket.resume();
  }
}

/** A Go duration of a config (already validated by the decoder), in ms; negative allowed. */
export const ms = (text: string | undefined, fallback: number, path: string): number => {
  if (text === undefined) return fallback;
  const t = text.trim();
  return t.startsWith('-') ? -duration(t.slice(1), path) : duration(t, path);
};
