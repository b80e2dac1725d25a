import { boolean, duration, int, list, object, optional, required, string, withDefault, type Decoder } from './decode';
import { configError } from '../errors';

/**
 * `providers.etcd` and `providers.redis`, in the names and defaults of
 * Traefik's KV providers. Decoded with the rest of the static configuration,
 * so `portier check` reports a mistake here with its path.
 */

/** `host:port` or `[v6]:port`, as Traefik writes KV endpoints; etcd also takes `http://` and `https://` URLs. */
const endpoint = (urls: boolean): Decoder<string> => (raw, path) => {
  const s = string(raw, path).trim();
  const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^:\s/[\]]+):(\d{1,5})$/;
  const url = /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[^:\s/[\]]+):(\d{1,5})\/?$/i;
  const m = hostPort.exec(s) ?? (urls ? url.exec(s) : null);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw configError(path, `expected host:port${urls ? ' or http(s)://host:port' : ''}, got ${JSON.stringify(s)}`);
  }
  return s.replace(/\/$/, '');
};

const rootKey: Decoder<string> = (raw, path) => {
  const s = string(raw, path).trim().replace(/\/+$/, '');
  if (s === '') throw configError(path, 'expected a key prefix such as traefik');
  return s;
};

const clientTlsFields = object({ ca: optional(string), cert: optional(string), key: optional(string), insecureSkipVerify: withDefault(boolean, false) });

const clientTls: Decoder<ReturnType<typeof clientTlsFields>> = (raw, path, ctx) => {
  const t = clientTlsFields(raw, path, ctx);
  if ((t.cert === undefined) !== (t.key === undefined)) throw configError(path, 'cert and key go together: set both or neither');
  return t;
};

const sentinelFields = object({
  masterName: required(string),
  username: optional(string),
  password: optional(string),
  latencyStrategy: withDefault(boolean, false),
  randomStrategy: withDefault(boolean, false),
  replicaStrategy: withDefault(boolean, false),
  useDisconnectedReplicas: withDefault(boolean, false),
});

const NOT_APPLIED = 'not applied: Portier reads its few keys from the master';

const sentinel: Decoder<ReturnType<typeof sentinelFields>> = (raw, path, ctx) => {
  const s = sentinelFields(raw, path, ctx);
  if ([s.latencyStrategy, s.randomStrategy, s.replicaStrategy].filter(Boolean).length > 1) {
    throw configError(path, 'latencyStrategy, randomStrategy and replicaStrategy are mutually exclusive: set one of them');
  }
  if (s.latencyStrategy) ctx?.warn(`${path}.latencyStrategy`, NOT_APPLIED);
  if (s.randomStrategy) ctx?.warn(`${path}.randomStrategy`, NOT_APPLIED);
  if (s.useDisconnectedReplicas) ctx?.warn(`${path}.useDisconnectedReplicas`, 'not applied: only replicas the sentinels report connected are used');
  return s;
};

const scanInterval: Decoder<number> = (raw, path) => {
  const ms = duration(raw, path);
  if (ms < 100) throw configError(path, 'expected at least 100ms');
  return ms;
};

const kvFields = (defaultEndpoint: string, urls: boolean) => ({
  endpoints: withDefault(list(endpoint(urls)), [defaultEndpoint]),
  rootKey: withDefault(rootKey, 'traefik'),
  username: optional(string),
  password: optional(string),
  tls: optional(clientTls),
});

/** A section present but empty (`etcd:` in YAML, `--providers.etcd=true`) is on, with defaults. */
const enabled = <T>(d: Decoder<T>): Decoder<T | undefined> => (raw, path, ctx) => (raw === undefined ? undefined : d(raw, path, ctx));

const etcdFields = object(kvFields('127.0.0.1:2379', true));

export const etcdProvider = enabled(etcdFields);

const redisFields = object({
  ...kvFields('127.0.0.1:6379', false),
  db: withDefault(int, 0),
  sentinel: optional(sentinel),
  /** Portier's own: how often the keys are listed when keyspace notifications are off (and notifications re-checked). */
  scanInterval: withDefault(scanInterval, 2000),
});

const redisChecked: Decoder<ReturnType<typeof redisFields>> = (raw, path, ctx) => {
  const r = redisFields(raw, path, ctx);
  if (r.db < 0) throw configError(`${path}.db`, `expected a database number 0 or more, got ${r.db}`);
  if (!r.sentinel && r.endpoints.length > 1) ctx?.warn(`${path}.endpoints`, `only the first endpoint (${r.endpoints[0]}) is used without sentinel`);
  return r;
};

export const redisProvider = enabled(redisChecked);

export type EtcdOptions = ReturnType<typeof etcdFields>;
export type RedisOptions = ReturnType<typeof redisFields>;
export type KvClientTls = ReturnType<typeof clientTlsFields>;
