import t from 'tap';
import { decodeAll } from '../../src/config/decode';
import { staticConfigDecoder } from '../../src/config/static';

/** `providers.etcd` and `providers.redis`: Traefik's defaults, and each mistake refused or warned about with its path. */
const cases: { name: string; providers: Record<string, unknown>; want?: Record<string, unknown>; error?: RegExp; warning?: RegExp }[] = [
  { name: 'etcd on with defaults (empty section)', providers: { etcd: null }, want: { etcd: { endpoints: ['127.0.0.1:2379'], rootKey: 'traefik' } } },
  { name: 'redis on with defaults (--providers.redis=true)', providers: { redis: 'true' }, want: { redis: { endpoints: ['127.0.0.1:6379'], rootKey: 'traefik', db: 0, scanInterval: 2000 } } },
  { name: 'etcd URLs and a root key with a trailing slash', providers: { etcd: { endpoints: ['https://10.0.0.1:2379', '[::1]:2379'], rootKey: 'edge/' } }, want: { etcd: { endpoints: ['https://10.0.0.1:2379', '[::1]:2379'], rootKey: 'edge' } } },
  { name: 'redis db and sentinel from strings', providers: { redis: { db: '2', sentinel: { masterName: 'm', replicaStrategy: 'true' } } }, want: { redis: { db: 2, sentinel: { masterName: 'm', replicaStrategy: true } } } },
  { name: 'a Redis URL is not an endpoint', providers: { redis: { endpoints: ['redis://127.0.0.1:6379'] } }, error: /providers\.redis\.endpoints\[0\]: expected host:port/ },
  { name: 'a port out of range', providers: { etcd: { endpoints: ['127.0.0.1:70000'] } }, error: /providers\.etcd\.endpoints\[0\]/ },
  { name: 'an empty root key', providers: { etcd: { rootKey: '/' } }, error: /providers\.etcd\.rootKey: expected a key prefix/ },
  { name: 'a TLS key without its certificate', providers: { redis: { tls: { key: 'k.pem' } } }, error: /providers\.redis\.tls: cert and key go together/ },
  { name: 'two sentinel strategies', providers: { redis: { sentinel: { masterName: 'm', randomStrategy: true, replicaStrategy: true } } }, error: /mutually exclusive/ },
  { name: 'a sentinel without master name', providers: { redis: { sentinel: {} } }, error: /sentinel\.masterName: is required/ },
  { name: 'a negative database', providers: { redis: { db: -1 } }, error: /providers\.redis\.db: expected a database number/ },
  { name: 'a scan interval too short', providers: { redis: { scanInterval: '10ms' } }, error: /scanInterval: expected at least 100ms/ },
  { name: 'an unknown key, with a suggestion', providers: { etcd: { rootkey: 'x', endpoint: ['a:1'] } }, error: /providers\.etcd\.endpoint: unknown key \(did you mean endpoints\?\)/ },
  { name: 'several endpoints without sentinel: only the first is used', providers: { redis: { endpoints: ['127.0.0.1:1', '127.0.0.1:2'] } }, warning: /providers\.redis\.endpoints: only the first endpoint/ },
  { name: 'latencyStrategy is accepted but not applied', providers: { redis: { sentinel: { masterName: 'm', latencyStrategy: true } } }, warning: /sentinel\.latencyStrategy: not applied/ },
];

t.test('providers.etcd and providers.redis', async (t) => {
  for (const c of cases) {
    const d = decodeAll(staticConfigDecoder, { providers: c.providers }, '');
    const errors = d.errors.map((e) => e.message);
    const warnings = d.warnings.map((w) => w.message);
    if (c.error) t.ok(errors.some((e) => c.error!.test(e)), `${c.name}: error among ${JSON.stringify(errors)}`);
    else t.same(errors, [], `${c.name}: no error`);
    if (c.warning) t.ok(warnings.some((w) => c.warning!.test(w)), `${c.name}: warning among ${JSON.stringify(warnings)}`);
    if (c.want) t.match(d.value?.providers, c.want, `${c.name}: decoded`);
  }
});
