import type { UdpRouterConfig, UdpServiceConfig } from '../dynamic/model';
import type { Status } from '../routing/runtime';
import type { UdpPicker } from './balancer';

/** A UDP router's traffic, kept across configuration changes while the router exists. */
export class UdpCounters {
  sessions = 0;
  datagramsIn = 0;
  datagramsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Datagrams of new clients dropped: no server, or the entrypoint's session bound reached. */
  dropped = 0;
}

export interface UdpRouterRuntime {
  /** Qualified: `dns@file`. */
  readonly name: string;
  readonly provider: string;
  readonly config: UdpRouterConfig;
  /** The UDP entrypoints it serves (Traefik's `using`). */
  readonly using: string[];
  readonly service?: string;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
  readonly counters: UdpCounters;
}

export interface UdpServiceRuntime {
  readonly name: string;
  readonly provider: string;
  readonly config: UdpServiceConfig;
  readonly picker?: UdpPicker;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
  readonly usedBy: string[];
}

/** What a UDP entrypoint serves: its one router and that router's service. */
export interface UdpRoute {
  readonly router: UdpRouterRuntime;
  readonly picker: UdpPicker;
}

/**
 * The compiled UDP state, built once per configuration change and never
 * changed after: the entrypoints read their route from it for each new
 * session, never per datagram.
 */
export class UdpTable {
  static readonly EMPTY = new UdpTable(new Map(), new Map(), new Map());

  constructor(
    readonly routers: ReadonlyMap<string, UdpRouterRuntime>,
    readonly services: ReadonlyMap<string, UdpServiceRuntime>,
    private readonly routes: ReadonlyMap<string, UdpRoute>,
  ) {}

  route(entryPoint: string): UdpRoute | undefined {
    return this.routes.get(entryPoint);
  }
}
