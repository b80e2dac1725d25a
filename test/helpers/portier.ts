import type { Test } from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortier, type Portier } from '../../src/app';
import { loadStaticConfig } from '../../src/config/load';
import { silentLogger } from '../../src/log/logger';

/**
 * The whole of Portier as `portier --config` starts it, from files written
 * into a temporary folder (`portier.yaml` plus any others, e.g. the file
 * provider's `dynamic.yaml`); stopped and removed when the test ends.
 */
export async function startPortierFromFiles(t: Test, files: Record<string, string>): Promise<{ portier: Portier; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'portier-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const { config } = loadStaticConfig({ file: join(dir, 'portier.yaml') });
  const portier = await startPortier(config, silentLogger, { baseDir: dir });
  t.teardown(async () => {
    await portier.close(100);
    rmSync(dir, { recursive: true, force: true });
  });
  portier.gateway.flush();
  return { portier, dir };
}
