import type { RedisOptions as IoRedisOptions } from 'ioredis';
import type { RedisOptions } from '../../src/config/kv-options';
import type { ClientTlsOptions } from '../etcd/tls';

/** `host:port` or `[v6]:port`. */
function hostPort(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(endpoint.slice(i + 1)) };
}

/**
 * ioredis options for `providers.redis`: the first endpoint, or with
 * `sentinel` every endpoint as a sentinel and the master (a replica with
 * `replicaStrategy`) they name. Commands fail at once while disconnected
 * (no offline queue): the provider lists again after each reconnection
 * instead of replaying stale requests.
 */
export function ioRedisOptions(o: RedisOptions, tls: ClientTlsOptions | undefined, retryStrategy: (attempt: number) => number): IoRedisOptions {
  const common: IoRedisOptions = {
    username: o.username,
    password: o.password,
    db: o.db,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    keepAlive: 10_000,
    // A frozen server must not hold a listing (and so every later one) forever.
    commandTimeout: 5000,
    retryStrategy,
    ...(tls ? { tls } : {}),
  };
  if (!o.sentinel) return { ...common, ...hostPort(o.endpoints[0]) };
  return {
    ...common,
    sentinels: o.endpoints.map(hostPort),
    name: o.sentinel.masterName,
    sentinelUsername: o.sentinel.username,
    sentinelPassword: o.sentinel.password,
    role: o.sentinel.replicaStrategy ? 'slave' : 'master',
    sentinelRetryStrategy: retryStrategy,
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
  };
}
