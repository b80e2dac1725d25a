import { isIP } from 'node:net';
import { splitHostPort } from './address';

/** How long a server that answered ICMP port unreachable gets no new session (Traefik's passive failure window). */
export const EJECT_MS = 10_000;

/**
 * One UDP server (`host:port`) and its passive health. Kept per address
 * across configuration changes, so a refusing server stays ejected when an
 * unrelated object changes; shared by every service that names the address,
 * since it is the address that refuses.
 */
export class UdpServer {
  readonly host: string;
  readonly port: number;
  readonly type: 'udp4' | 'udp6';
  private downUntil = 0;

  constructor(readonly address: string) {
    const hp = splitHostPort(address);
    if (!hp) throw new Error(`invalid server address ${JSON.stringify(address)}`);
    this.host = hp.host;
    this.port = hp.port;
    this.type = isIP(hp.host) === 6 ? 'udp6' : 'udp4';
  }

  /** Called when the server refused a datagram (ECONNREFUSED) or its name did not resolve. */
  eject(now = Date.now()): void {
    this.downUntil = now + EJECT_MS;
  }

  up(now = Date.now()): boolean {
    return now >= this.downUntil;
  }
}

/** What a UDP service is at run time: a choice of server per new session. */
export interface UdpPicker {
  /** The server for a new session; undefined when the service has none. */
  pick(): UdpServer | undefined;
  /** No server at all (not merely ejected ones): fixed at compile time. */
  readonly empty: boolean;
  /** Address → UP | DOWN, live. */
  status(): Record<string, 'UP' | 'DOWN'>;
}

/**
 * Round robin over the servers, skipping ejected ones; when every server
 * is ejected it goes on round robin over all of them, since a datagram
 * sent may find a server back, and one dropped never does.
 */
export class RoundRobin implements UdpPicker {
  private next = 0;

  readonly empty: boolean;

  constructor(private readonly servers: UdpServer[]) {
    this.empty = servers.length === 0;
  }

  pick(): UdpServer | undefined {
    const n = this.servers.length;
    if (n === 0) return undefined;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const s = this.servers[(this.next + i) % n];
      if (s.up(now)) {
        this.next = (this.next + i + 1) % n;
        return s;
      }
    }
    const s = this.servers[this.next];
    this.next = (this.next + 1) % n;
    return s;
  }

  status(): Record<string, 'UP' | 'DOWN'> {
    const now = Date.now();
    return Object.fromEntries(this.servers.map((s) => [s.address, s.up(now) ? 'UP' : 'DOWN']));
  }
}

/**
 * Smooth weighted round robin over child services (nginx's algorithm):
 * weights 3 and 1 give a a b a, spread rather than bunched. Children with
 * weight 0 or without any server take no part.
 */
export class WeightedPicker implements UdpPicker {
  private readonly live: { weight: number; picker: UdpPicker; current: number }[];
  private readonly total: number;
  readonly empty: boolean;

  constructor(private readonly children: { weight: number; picker: UdpPicker }[]) {
    this.live = children.filter((c) => c.weight > 0 && !c.picker.empty).map((c) => ({ ...c, current: 0 }));
    this.total = this.live.reduce((sum, c) => sum + c.weight, 0);
    this.empty = this.live.length === 0;
  }

  pick(): UdpServer | undefined {
    let best: (typeof this.live)[number] | undefined;
    for (const c of this.live) {
      c.current += c.weight;
      if (!best || c.current > best.current) best = c;
    }
    if (!best) return undefined;
    best.current -= this.total;
    return best.picker.pick();
  }

  status(): Record<string, 'UP' | 'DOWN'> {
    return Object.assign({}, ...this.children.map((c) => c.picker.status())) as Record<string, 'UP' | 'DOWN'>;
  }
}
