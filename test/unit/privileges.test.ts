import t from 'tap';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canBindPort, defaultUser, lookupUser } from '../../src/privileges';

const CAP_NET_BIND_SERVICE = 1n << 10n;

t.test('which ports can be bound', async (t) => {
  const cases = [
    { name: 'root (every capability)', uid: 0, capEff: 0x1ffffffffffn, start: 1024, port: 80, ok: true },
    { name: 'root in a container without CAP_NET_BIND_SERVICE', uid: 0, capEff: 0x1ffffffffffn & ~CAP_NET_BIND_SERVICE, start: 1024, port: 443, ok: false },
    { name: 'a user with the ambient capability (systemd unit)', uid: 1000, capEff: CAP_NET_BIND_SERVICE, start: 1024, port: 80, ok: true },
    { name: 'a user, ports from 80 unprivileged', uid: 1000, capEff: 0n, start: 80, port: 80, ok: true },
    { name: 'a user, ports from 443 unprivileged, port 80', uid: 1000, capEff: 0n, start: 443, port: 80, ok: false },
    { name: 'a user, default sysctl', uid: 1000, capEff: 0n, start: 1024, port: 443, ok: false },
    { name: 'a user, port 8080', uid: 1000, capEff: 0n, start: 1024, port: 8080, ok: true },
  ];
  for (const c of cases) t.equal(canBindPort(c.port, { uid: c.uid, capEff: c.capEff, unprivilegedPortStart: c.start }), c.ok, c.name);
});

t.test('users by name or uid, and the default user', async (t) => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nana:x:1000:1000:Ana:/home/ana:/bin/bash\n';
  t.same(lookupUser('ana', passwd), { name: 'ana', uid: 1000, gid: 1000, home: '/home/ana' });
  t.same(lookupUser('65534', passwd)?.name, 'nobody');
  t.equal(lookupUser('bob', passwd), undefined);
  const dir = mkdtempSync(path.join(tmpdir(), 'portier-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = process.getuid?.() === 0;
  const cases = [
    { name: 'a state directory that does not exist', dir: path.join(dir, 'missing'), owner: undefined, user: 'nobody' },
    ...(root ? [
      { name: 'a state directory owned by root', dir, owner: 0, user: 'nobody' },
      { name: "a developer's state directory", dir, owner: 1000, user: 'ana' },
    ] : []),
  ];
  for (const c of cases) {
    if (c.owner !== undefined) chownSync(c.dir, c.owner, c.owner);
    t.equal(defaultUser(c.dir, passwd), c.user, c.name);
  }
});
