import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where the engine's API socket lives: `--engine-socket`, else
 * PORTIER_ENGINE_SOCKET, else /run/portier/engine.sock for root,
 * $XDG_RUNTIME_DIR/portier/engine.sock, or a per-user directory in the
 * system temp dir.
 */
export function engineSocketPath(flag?: string, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): string {
  if (flag) return path.resolve(flag);
  if (env.PORTIER_ENGINE_SOCKET) return path.resolve(env.PORTIER_ENGINE_SOCKET);
  if (uid === 0) return '/run/portier/engine.sock';
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'portier', 'engine.sock');
  return path.join(os.tmpdir(), `portier-${uid}`, 'engine.sock');
}
