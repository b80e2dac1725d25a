import t from 'tap';
import { KvMirror } from '../../src/dynamic/kv-mirror';
import type { ProviderSnapshot } from '../../src/dynamic/model';
import { silentLogger } from '../../src/log/logger';

/**
 * What a KV provider pushes to the gateway for what its store answers:
 * one snapshot per burst, none when nothing below the root changed, none
 * while the configuration's shape is wrong (the last good one stays), an
 * empty one only for a store that answered and is empty.
 */
type Step = { list?: Record<string, string>; set?: [string, string]; del?: string };

const rule = (host: string): Record<string, string> => ({ 'traefik/http/routers/r/rule': `Host(\`${host}\`)` });

const cases: { name: string; steps: Step[][]; want: (string[] | 'empty')[] }[] = [
  { name: 'a first listing is pushed', steps: [[{ list: rule('a') }]], want: [['r']] },
  { name: 'an empty store is an empty configuration', steps: [[{ list: {} }]], want: ['empty'] },
  { name: 'a burst of changes is one snapshot', steps: [[{ list: {} }], [{ set: ['traefik/http/routers/x/rule', 'Path(`/x`)'] }, { set: ['traefik/http/routers/y/rule', 'Path(`/y`)'] }, { del: 'traefik/http/routers/x/rule' }]], want: ['empty', ['y']] },
  { name: 'the same listing again, or a value written again, pushes nothing', steps: [[{ list: rule('a') }], [{ list: rule('a') }], [{ set: ['traefik/http/routers/r/rule', 'Host(`a`)'] }]], want: [['r']] },
  { name: 'deleting an unknown key pushes nothing', steps: [[{ list: rule('a') }], [{ del: 'traefik/nothing' }]], want: [['r']] },
  { name: 'a wrong shape keeps the last good configuration, and a fix is pushed', steps: [[{ list: rule('a') }], [{ set: ['traefik/http/routerz/x/rule', 'Path(`/`)'] }], [{ del: 'traefik/http/routerz/x/rule' }, { set: ['traefik/http/routers/q/rule', 'Path(`/q`)'] }]], want: [['r'], ['q', 'r']] },
  { name: 'changes before the first listing wait for it', steps: [[{ set: ['traefik/http/routers/early/rule', 'Path(`/`)'] }], [{ list: rule('a') }]], want: [['r']] },
];

t.test('KvMirror: snapshots pushed for what the store answers', async (t) => {
  for (const c of cases) {
    const pushed: ProviderSnapshot[] = [];
    const mirror = new KvMirror('etcd', 'traefik', (s) => pushed.push(s), silentLogger, 5);
    for (const burst of c.steps) {
      for (const s of burst) {
        if (s.list) mirror.replaceAll(Object.entries(s.list));
        if (s.set) mirror.set(...s.set);
        if (s.del) mirror.delete(s.del);
      }
      await new Promise((r) => setTimeout(r, 40));
    }
    mirror.close();
    const seen = pushed.map((p) => (p.config.http ? Object.keys(p.config.http.routers ?? {}).sort() : 'empty'));
    t.same(seen, c.want, c.name);
  }
});
