import type { RouterConfig, ServiceConfig, MiddlewareConfig } from '../dynamic/model';
import type { CompiledRule } from '../rules/types';
import type { Dispatch, Handler, Middleware } from '../proxy/exchange';

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
  /** Its middlewares around its service, composed once: present when it is usable. */
  readonly handler?: Handler;
  /** What the entrypoint calls for each request: `handler`, or without middlewares the service's own callback form. */
  readonly dispatch?: Dispatch;
  /**
   * Plain middlewares only (MiddlewareType.plain), and a `loadBalancer`
   * service: everything that touches its exchanges uses only the part of a
   * request and a response every front end provides (the direct path's
   * included).
   */
  readonly plain: boolean;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
}

export interface ServiceRuntime {
  readonly name: string;
  readonly provider: string;
  readonly config: ServiceConfig;
  /** The service's one form (a balancer's callback); `handler` is it in promise form, for middleware chains. */
  readonly dispatch?: Dispatch;
  readonly handler?: Handler;
  /** A `loadBalancer` service (not weighted, not internal). */
  readonly balanced: boolean;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
  readonly usedBy: string[];
  /** A `loadBalancer` service's balancer, which serverStatus asks. */
  readonly balancer?: { serverStatus(): Record<string, 'UP' | 'DOWN'> };
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
  /** Options accepted but deprecated or not applied, said by its type's decoder. */
  readonly warnings: string[];
  readonly usedBy: string[];
}

export const statusOf = (errors: string[], warnings: string[]): Status =>
  errors.length ? 'disabled' : warnings.length ? 'warning' : 'enabled';

/** A bare reference resolves in the referrer's provider, as in Traefik. */
export const qualify = (ref: string, provider: string): string => (ref.includes('@') ? ref : `${ref}@${provider}`);
