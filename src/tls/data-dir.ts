import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface InvokingUser {
  uid: number;
  gid: number;
  home: string;
}

/**
 * The user behind `sudo` (SUDO_UID, SUDO_GID, SUDO_USER), when running as
 * root through it: `sudo portier trust` must trust that user's local CA and
 * touch that user's browser database, not root's.
 */
export function invokingUser(env: NodeJS.ProcessEnv = process.env): InvokingUser | undefined {
  if (process.getuid?.() !== 0 || !env.SUDO_USER || !env.SUDO_UID || !env.SUDO_GID) return undefined;
  let home: string | undefined;
  try {
    home = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === env.SUDO_USER)?.[5];
  } catch {
    return undefined;
  }
  return home ? { uid: Number(env.SUDO_UID), gid: Number(env.SUDO_GID), home } : undefined;
}

/**
 * Where Portier keeps state that outlives a run (the local CA, default ACME
 * storage): `PORTIER_DATA_DIR`, else the XDG data directory of the user
 * (of the sudo user under sudo), else /var/lib/portier for root.
 */
export function portierDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PORTIER_DATA_DIR) return path.resolve(env.PORTIER_DATA_DIR);
  const sudo = invokingUser(env);
  if (sudo) return path.join(sudo.home, '.local', 'share', 'portier');
  if (process.getuid?.() === 0) return '/var/lib/portier';
  const xdg = env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), '.local', 'share');
  return path.join(xdg, 'portier');
}
