import { requireStore, startEtcd, startRedis, type Store, type TlsFiles } from './kv-stores';

type Tap = Parameters<typeof requireStore>[0];

/**
 * The stores a shared ACME storage may name (docs/acme-cluster.md), each
 * started for real, so that one cluster test runs against every one of them:
 * with and without credentials in the address.
 */
export interface SharedAcmeStore {
  name: string;
  kind: 'redis' | 'etcd';
  /** The address carries a user and/or password. */
  credentials: boolean;
  start(t: Tap): Promise<{
    kv: Store;
    /** `acme.storage` for `prefix` and `lease`. */
    storage(prefix: string, lease: string): string;
    /** What /api/tls/cluster names: the address without credentials or lease. */
    label(prefix: string): string;
  }>;
}

const PASSWORD = 'cluster s3cret/!';

function shared(scheme: string, kv: Store, credentials = ''): Awaited<ReturnType<SharedAcmeStore['start']>> {
  return {
    kv,
    storage: (prefix, lease) => `${scheme}://${credentials}${kv.endpoint}/${prefix}?lease=${lease}`,
    label: (prefix) => `${scheme}://${kv.endpoint}/${prefix}`,
  };
}

const userinfo = (user: string): string => `${user}:${encodeURIComponent(PASSWORD)}@`;

export const SHARED_ACME_STORES: SharedAcmeStore[] = [
  { name: 'Redis', kind: 'redis', credentials: false, start: async (t) => shared('redis', await startRedis(t)) },
  { name: 'Redis with a password (--requirepass)', kind: 'redis', credentials: true, start: async (t) => shared('redis', await startRedis(t, { adminPassword: PASSWORD }), userinfo('')) },
  { name: 'etcd', kind: 'etcd', credentials: false, start: async (t) => shared('etcd', await startEtcd(t)) },
  {
    name: 'etcd with a user and password',
    kind: 'etcd',
    credentials: true,
    start: async (t) => shared('etcd', await startEtcd(t, { writer: { name: 'portier', password: PASSWORD, prefix: 'portier/' } }), userinfo('portier')),
  },
];

/**
 * The same over TLS (rediss://, etcds://), with credentials, the server
 * asking for no client certificate: Portier trusts the test CA only
 * through NODE_EXTRA_CA_CERTS, so these run in a Portier process.
 */
export const TLS_SHARED_ACME_STORES: (Omit<SharedAcmeStore, 'start' | 'credentials'> & { start(t: Tap, files: TlsFiles): ReturnType<SharedAcmeStore['start']> })[] = [
  { name: 'rediss:// with a password', kind: 'redis', start: async (t, tls) => shared('rediss', await startRedis(t, { adminPassword: PASSWORD, tls, anyClient: true }), userinfo('')) },
  {
    name: 'etcds:// with a user and password',
    kind: 'etcd',
    start: async (t, tls) => shared('etcds', await startEtcd(t, { writer: { name: 'portier', password: PASSWORD, prefix: 'portier/' }, tls, anyClient: true }), userinfo('portier')),
  },
];
