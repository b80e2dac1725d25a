/**
 * The dynamic configuration model, in the shape and key names of Traefik's
 * file provider, so that a Traefik dynamic file works unchanged. Every
 * provider emits a `DynamicConfig`; names inside one snapshot are bare and are
 * namespaced (`name@provider`) when snapshots are merged.
 */

export interface DynamicConfig {
  http?: HttpConfig;
  tcp?: TcpConfig;
  tls?: TlsConfig;
  udp?: UdpConfig;
}

export interface HttpConfig {
  routers?: Record<string, RouterConfig>;
  services?: Record<string, ServiceConfig>;
  middlewares?: Record<string, MiddlewareConfig>;
  serversTransports?: Record<string, ServersTransportConfig>;
}

export interface RouterConfig {
  rule: string;
  ruleSyntax?: 'v2' | 'v3';
  entryPoints?: string[];
  middlewares?: string[];
  service?: string;
  priority?: number;
  tls?: RouterTlsConfig;
}

export interface RouterTlsConfig {
  certResolver?: string;
  options?: string;
  domains?: { main: string; sans?: string[] }[];
}

export interface ServiceConfig {
  loadBalancer?: LoadBalancerConfig;
  weighted?: WeightedConfig;
}

export interface LoadBalancerConfig {
  servers: ServerConfig[];
  passHostHeader?: boolean;
  healthCheck?: HealthCheckConfig;
  sticky?: { cookie?: StickyCookieConfig };
  serversTransport?: string;
  /** Go duration; a negative one flushes at once, as in Traefik. */
  responseForwarding?: { flushInterval?: string };
  /** Weighted round robin, Traefik's default and the only strategy there is here; others are refused. */
  strategy?: 'wrr';
}

export interface ServerConfig {
  url: string;
  weight?: number;
  /** Traefik v3: the URL's path is prepended to every request's path only when true. */
  preservePath?: boolean;
}

export interface HealthCheckConfig {
  path: string;
  scheme?: 'http' | 'https' | 'h2c';
  /** `grpc`: the gRPC health protocol over HTTP/2 (SERVING is healthy) instead of an HTTP request. */
  mode?: 'http' | 'grpc';
  hostname?: string;
  port?: number;
  method?: string;
  status?: number;
  interval?: string;
  /** How often a server that failed its check is checked again (default: `interval`). */
  unhealthyInterval?: string;
  timeout?: string;
  headers?: Record<string, string>;
  /** Default true: up to 10 redirects are followed and the final answer is judged. */
  followRedirects?: boolean;
}

export interface StickyCookieConfig {
  name?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'none' | 'lax' | 'strict' | '';
  maxAge?: number;
  path?: string;
  /** Sent as `Domain=` without a leading dot, as Go's net/http does. */
  domain?: string;
}

export interface WeightedConfig {
  services: { name: string; weight?: number }[];
  sticky?: { cookie?: StickyCookieConfig };
}

export interface ServersTransportConfig {
  /** `https:` servers are not offered h2 by ALPN (Traefik's key). */
  disableHTTP2?: boolean;
  forwardingTimeouts?: { dialTimeout?: string; responseHeaderTimeout?: string; idleConnTimeout?: string };
  maxIdleConnsPerHost?: number;
  insecureSkipVerify?: boolean;
  /** SNI sent to the servers and the name their certificate must carry (instead of the URL's host). */
  serverName?: string;
  /** PEM files of the CAs that sign the servers' certificates; they replace the system's CAs. */
  rootCAs?: string[];
  /** Client certificates (PEM files) for servers that ask for one. */
  certificates?: { certFile: string; keyFile: string }[];
}

/** Traefik's `tcp` section: routers chosen by SNI, client IP and ALPN before any HTTP is read. */
export interface TcpConfig {
  routers?: Record<string, TcpRouterConfig>;
  services?: Record<string, TcpServiceConfig>;
  middlewares?: Record<string, TcpMiddlewareConfig>;
  serversTransports?: Record<string, TcpServersTransportConfig>;
}

export interface TcpRouterConfig {
  rule: string;
  ruleSyntax?: 'v2' | 'v3';
  entryPoints?: string[];
  middlewares?: string[];
  service?: string;
  priority?: number;
  tls?: TcpRouterTlsConfig;
}

export interface TcpRouterTlsConfig {
  /** The ClientHello and everything after it go to the server untouched; the server ends TLS. */
  passthrough?: boolean;
  certResolver?: string;
  options?: string;
  domains?: { main: string; sans?: string[] }[];
}

export interface TcpServiceConfig {
  loadBalancer?: TcpLoadBalancerConfig;
  weighted?: { services: { name: string; weight?: number }[] };
}

export interface TcpServerConfig {
  /** `host:port`. */
  address: string;
  /** Speak TLS to this server. */
  tls?: boolean;
  weight?: number;
}

export interface TcpLoadBalancerConfig {
  servers: TcpServerConfig[];
  serversTransport?: string;
  /** Deprecated in Traefik v3 (a serversTransport's proxyProtocol), still applied. */
  proxyProtocol?: { version?: 1 | 2 };
  /** Deprecated in Traefik v3 (a serversTransport's terminationDelay), still applied. */
  terminationDelay?: number;
  healthCheck?: TcpHealthCheckConfig;
}

export interface TcpHealthCheckConfig {
  port?: number;
  interval?: string;
  unhealthyInterval?: string;
  timeout?: string;
  /** Sent once connected; the check then waits for `expect` (or any byte) in the answer. */
  send?: string;
  expect?: string;
}

/** `<type>: {options}`, one key: `ipAllowList` or `inFlightConn` (and v2's `ipWhiteList`). */
export type TcpMiddlewareConfig = Record<string, unknown>;

export interface TcpServersTransportConfig {
  dialTimeout?: string;
  dialKeepAlive?: string;
  /** How long a half-closed connection may keep its other direction open; negative: no bound. */
  terminationDelay?: string;
  proxyProtocol?: { version?: 1 | 2 };
  tls?: { serverName?: string; insecureSkipVerify?: boolean; rootCAs?: string[]; certificates?: { certFile: string; keyFile: string }[]; peerCertURI?: string };
}

/** `<type>: {options}`: exactly one key, the middleware's Traefik type name. */
export type MiddlewareConfig = Record<string, unknown>;

export interface TlsConfig {
  certificates?: { certFile: string; keyFile: string; stores?: string[] }[];
  options?: Record<string, { minVersion?: string; cipherSuites?: string[]; curvePreferences?: string[]; sniStrict?: boolean }>;
  stores?: Record<string, { defaultCertificate?: { certFile: string; keyFile: string } }>;
}

/**
 * A provider's snapshot may also carry errors the provider found while
 * building it (a broken label): they attach to the named object, so that
 * only it is disabled.
 */
export interface ProviderSnapshot {
  provider: string;
  config: DynamicConfig;
  /** key: `routers.<name>` | `services.<name>` | `middlewares.<name>` */
  errors?: Record<string, string[]>;
  warnings?: Record<string, string[]>;
}

/** Traefik's `udp` section: no rule; one router per UDP entrypoint takes every datagram arriving there. */
export interface UdpConfig {
  routers?: Record<string, UdpRouterConfig>;
  services?: Record<string, UdpServiceConfig>;
}

export interface UdpRouterConfig {
  /** Without: every UDP entrypoint. */
  entryPoints?: string[];
  service?: string;
}

export interface UdpServiceConfig {
  loadBalancer?: { servers: { address: string }[] };
  weighted?: { services: { name: string; weight?: number }[] };
}
