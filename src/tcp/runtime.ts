import type { TcpMiddlewareConfig, TcpRouterConfig, TcpServiceConfig } from '../dynamic/model';
import type { CompiledTcpRule } from '../rules/tcp-compile';
import type { Status } from '../routing/runtime';
import type { TcpHandler } from './conn';
import type { TcpMiddleware } from './conn';

/** How a TCP router serves a connection: as it comes (plaintext), TLS ended by Portier, or TLS passed through. */
export type TcpTlsMode = 'none' | 'terminate' | 'passthrough';

export interface TcpRouterRuntime {
  readonly name: string;
  readonly provider: string;
  readonly config: TcpRouterConfig;
  readonly entryPoints: string[];
  readonly tls: TcpTlsMode;
  readonly priority: number;
  readonly rule?: CompiledTcpRule;
  readonly middlewares: string[];
  readonly service?: string;
  /** Its middlewares around its service: present when it is usable. */
  readonly handler?: TcpHandler;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
}

export interface TcpServiceRuntime {
  readonly name: string;
  readonly provider: string;
  readonly config: TcpServiceConfig;
  readonly handler?: TcpHandler;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
  readonly usedBy: string[];
  serverStatus(): Record<string, 'UP' | 'DOWN'>;
}

export interface TcpMiddlewareRuntime {
  readonly name: string;
  readonly provider: string;
  readonly config: TcpMiddlewareConfig;
  readonly type: string;
  readonly middleware?: TcpMiddleware;
  readonly status: Status;
  readonly errors: string[];
  readonly warnings: string[];
  readonly usedBy: string[];
}

export type UsableTcpRouter = TcpRouterRuntime & { rule: CompiledTcpRule; handler: TcpHandler };
