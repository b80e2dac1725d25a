import t from 'tap';
import * as os from 'node:os';
import * as path from 'node:path';
import { engineSocketPath } from '../../src/engine/socket-path';

const cases: { name: string; flag?: string; env: Record<string, string>; uid: number; want: string }[] = [
  { name: 'flag wins', flag: '/x/flag.sock', env: { PORTIER_ENGINE_SOCKET: '/x/env.sock' }, uid: 0, want: '/x/flag.sock' },
  { name: 'then the env variable', env: { PORTIER_ENGINE_SOCKET: '/x/env.sock', XDG_RUNTIME_DIR: '/run/user/1000' }, uid: 1000, want: '/x/env.sock' },
  { name: 'root uses /run/portier', env: { XDG_RUNTIME_DIR: '/run/user/0' }, uid: 0, want: '/run/portier/engine.sock' },
  { name: 'a user uses XDG_RUNTIME_DIR', env: { XDG_RUNTIME_DIR: '/run/user/1000' }, uid: 1000, want: '/run/user/1000/portier/engine.sock' },
  { name: 'else a per-user temp dir', env: {}, uid: 1000, want: path.join(os.tmpdir(), 'portier-1000', 'engine.sock') },
  { name: 'a relative flag is made absolute', flag: 'rel.sock', env: {}, uid: 1000, want: path.resolve('rel.sock') },
];

for (const c of cases) t.equal(engineSocketPath(c.flag, c.env, c.uid), c.want, c.name);
