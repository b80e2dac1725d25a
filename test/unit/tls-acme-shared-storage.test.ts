/**
 * `certificatesResolvers.<n>.acme.storage` naming a shared store
 * (docs/acme-cluster.md): accepted addresses and the errors, each naming
 * the field, of the ones that are not.
 */
import t from 'tap';
import { decodeAll } from '../../src/config/decode';
import { certificatesResolversDecoder } from '../../src/tls/resolver-options';
import { parseSharedStorage } from '../../src/tls/shared-storage';

const plain = { store: 'redis', tls: false, leaseMs: 30_000 };
const cases: { storage: string; parsed?: object; error?: RegExp }[] = [
  { storage: '/var/lib/portier/acme.json' },
  { storage: 'acme.json' },
  { storage: 'redis://10.0.0.5:6379/portier/acme', parsed: { ...plain, host: '10.0.0.5', port: 6379, prefix: 'portier/acme' } },
  { storage: 'redis://[::1]:6380/acme/', parsed: { ...plain, host: '::1', port: 6380, prefix: 'acme' } },
  { storage: 'redis://redis.internal:6379/acme?lease=10s', parsed: { ...plain, host: 'redis.internal', port: 6379, prefix: 'acme', leaseMs: 10_000 } },
  { storage: 'redis://:s3cret@redis.internal:6379/acme', parsed: { ...plain, host: 'redis.internal', port: 6379, prefix: 'acme', password: 's3cret' } },
  { storage: 'rediss://portier:p%40ss%2Fw@redis.internal:6380/acme', parsed: { ...plain, tls: true, host: 'redis.internal', port: 6380, prefix: 'acme', username: 'portier', password: 'p@ss/w' } },
  { storage: 'etcd://10.0.0.6:2379/portier/acme?lease=1m', parsed: { ...plain, store: 'etcd', host: '10.0.0.6', port: 2379, prefix: 'portier/acme', leaseMs: 60_000 } },
  { storage: 'etcds://portier:pw@etcd.internal:2379/acme', parsed: { ...plain, store: 'etcd', tls: true, host: 'etcd.internal', port: 2379, prefix: 'acme', username: 'portier', password: 'pw' } },
  { storage: 'redis://redis.internal/acme', error: /expected redis:\/\/host:port\/prefix/ },
  { storage: 'redis://redis.internal:6379', error: /expected redis:\/\/host:port\/prefix/ },
  { storage: 'redis://redis.internal:99999/acme', error: /expected redis:\/\/host:port\/prefix/ },
  { storage: 'redis://redis.internal:6379/acme?lease=200ms', error: /lease must be at least 1s/ },
  { storage: 'redis://redis.internal:6379/acme?ttl=5s', error: /expected redis:\/\/host:port\/prefix/ },
  { storage: 'etcd://u:hidden@etcd.internal/acme', error: /got "etcd:\/\/u:\*\*\*@etcd\.internal\/acme"/ },
  { storage: 'consul://127.0.0.1:8500/acme', error: /unsupported shared storage "consul:\/\/"/ },
];

for (const c of cases) {
  t.test(c.storage, async (t) => {
    const d = decodeAll(certificatesResolversDecoder, { le: { acme: { storage: c.storage, httpChallenge: { entryPoint: 'web' } } } }, 'certificatesResolvers');
    if (c.error) {
      t.equal(d.errors.length, 1, 'one error');
      t.equal(d.errors[0]?.path, 'certificatesResolvers.le.acme.storage', 'naming the field');
      t.match(d.errors[0]?.message, c.error);
      return;
    }
    t.same(d.errors, [], 'accepted');
    const parsed = parseSharedStorage(c.storage, 'x');
    if (c.parsed) t.same(parsed, c.parsed, 'parsed as a shared store');
    else t.equal(parsed, undefined, 'a file path');
  });
}
