/**
 * Where the local CA lives: the override, the user's XDG directory, root's
 * /var/lib/portier, and the sudo user's directory under sudo (so that
 * `sudo portier trust` trusts the CA the user's Portier uses).
 */
import t from 'tap';
import fs from 'node:fs';
import { portierDataDir } from '../../src/tls/data-dir';

const root = process.getuid?.() === 0;
const nobodyHome = fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === 'nobody')?.[5];

t.test('data directory', async (t) => {
  const sudo = { SUDO_USER: 'nobody', SUDO_UID: '65534', SUDO_GID: '65534' };
  const cases: { name: string; env: NodeJS.ProcessEnv; expect: string }[] = [
    { name: 'override', env: { PORTIER_DATA_DIR: '/srv/portier', ...sudo }, expect: '/srv/portier' },
    { name: 'relative override', env: { PORTIER_DATA_DIR: 'state' }, expect: `${process.cwd()}/state` },
    root
      ? { name: 'root', env: { HOME: '/root' }, expect: '/var/lib/portier' }
      : { name: 'user', env: { HOME: '/home/dev' }, expect: '/home/dev/.local/share/portier' },
    root
      ? { name: 'sudo user', env: { HOME: '/root', ...sudo }, expect: `${nobodyHome}/.local/share/portier` }
      : { name: 'XDG_DATA_HOME', env: { HOME: '/home/dev', XDG_DATA_HOME: '/data' }, expect: '/data/portier' },
  ];
  for (const c of cases) t.equal(portierDataDir(c.env), c.expect, c.name);
});
