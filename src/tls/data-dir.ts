import os from 'node:os';
import path from 'node:path';

/**
 * Where Portier keeps state that outlives a run (the local CA): the
 * `PORTIER_DATA_DIR` override, /var/lib/portier for root, else the XDG data
 * directory of the user.
 */
export function portierDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PORTIER_DATA_DIR) return path.resolve(env.PORTIER_DATA_DIR);
  if (process.getuid?.() === 0) return '/var/lib/portier';
  const xdg = env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), '.local', 'share');
  return path.join(xdg, 'portier');
}
