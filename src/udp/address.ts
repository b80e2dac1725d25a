import { isIP } from 'node:net';

/**
 * UDP entrypoint addresses: Traefik's `[host]:port/udp`. The static
 * decoder keeps the `/udp` suffix on the address, so that every part that
 * reads entrypoints can tell a UDP one from a TCP one by the address alone.
 */
export const UDP_DEFAULTS = {
  /** Traefik's `entryPoints.<n>.udp.timeout` default: a session idle this long ends. */
  timeoutMs: 3000,
  /** Portier's bound on concurrent sessions per UDP entrypoint; each holds one socket to its server. */
  maxSessions: 1024,
} as const;

export const isUdpAddress = (address: string): boolean => address.endsWith('/udp');

export interface UdpBind {
  /** Empty: every interface, IPv6 and IPv4 where the system allows both. */
  host: string;
  port: number;
  type: 'udp4' | 'udp6';
}

/** Where a UDP entrypoint binds: `:53/udp`, `127.0.0.1:53/udp`, `[::1]:53/udp`. */
export function udpBind(address: string): UdpBind {
  const hostPort = address.replace(/\/udp$/, '');
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(hostPort.slice(at + 1));
  return { host, port, type: host === '' || isIP(host) === 6 ? 'udp6' : 'udp4' };
}

/** A server's `host:port` (IPv6 in brackets), as Traefik's `net.SplitHostPort` reads it. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2], port };
}
