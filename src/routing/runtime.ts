import type { RouterConfig, ServiceConfig, MiddlewareConfig } from '../dynamic/model';
import type { CompiledRule } from '../rules/types';
import type { DirectService, Handler, Middleware } from '../proxy/exchange';

/** Traefik's status words, shown by the API and dashboard. */
export type Status = 'enabled' | 'warning' | 'disabled';

export interface RouterRuntime {
  /** Qualified: `api@file`. */
  readonly name: string;
  readonly provider: string;
  readonly config: RouterConfig;
  readonly entryPoints: string[];
  /** Has its own `tls` section: then it serves only TLS requests. */
  readonly tls: boolean;
  readonly priority: number;
  readonly rule?: CompiledRule;
  /** Qualified names of its middlewares and service. */
  readonly middlewares: string[];
  readonly service?: string;
  readonly handler?: Handler;
  /**
   * Set when its handler is a load balancer's, with no middleware in front:
   * a plain request for it can be served on the direct path
   * (server/direct-connection.ts), through the balancer's callback form.
   */
  readonly direct?: DirectService;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
}

export interface ServiceRuntime {
  readonly name: string;
  readonly provider: string;
  readonly config: ServiceConfig;
  readonly handler?: Handler;
  /** A load balancer's callback form of `handler` (see RouterRuntime.direct). */
  readonly serve?: DirectService;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
  readonly usedBy: string[];
  /** Server URL → UP | DOWN, live. */
  serverStatus(): Record<string, 'UP' | 'DOWN'>;
}

export interface MiddlewareRuntime {
  readonly name: string;
  readonly provider: string;
  readonly config: MiddlewareConfig;
  /** Canonical Traefik type name when known. */
  readonly type: string;
  readonly middleware?: Middleware;
  readonly status: Status;
  readonly errors: string[];
  readonly usedBy: string[];
}

export const statusOf = (errors: string[], warnings: string[]): Status =>
  errors.length ? 'disabled' : warnings.length ? 'warning' : 'enabled';

/** A bare reference resolves in the referrer's provider, as in Traefik. */
export const qualify = (ref: string, provider: string): string => (ref.includes('@') ? ref : `${ref}@${provider}`);
