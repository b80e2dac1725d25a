import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { staticConfigDecoder } from '../../src/config/static';
import { createLogger } from '../../src/log/logger';
import { startPortier } from '../../src/app';

/** Static keys Portier accepts for Traefik files but does not apply are said at startup, and nothing else breaks. */
t.test('entrypoint tls.options and redirection priority: accepted, a warning each at startup', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'portier-static-warnings-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = staticConfigDecoder(
    {
      entryPoints: {
        web: { address: '127.0.0.1:0', http: { redirections: { entryPoint: { to: 'websecure', priority: 10 } } } },
        websecure: { address: '127.0.0.1:0', http: { tls: { options: 'modern' } } },
        plain: { address: '127.0.0.1:0', http: { tls: { options: 'default' } } },
      },
      providers: { file: { filename: join(dir, 'none.yaml'), watch: false } },
      dataDir: dir,
    },
    '',
  );
  const lines: string[] = [];
  const portier = await startPortier(config, createLogger({ level: 'warn', write: (l) => lines.push(l) }), { baseDir: dir });
  t.teardown(() => portier.close(100));
  const cases = [
    { pattern: /entryPoints\.websecure\.http\.tls\.options: only tls\.options\.default applies; "modern" is not used/, count: 1, why: 'a named TLS options set on an entrypoint' },
    { pattern: /entryPoints\.web\.http\.redirections\.entryPoint\.priority: not applied/, count: 1, why: 'a redirection priority' },
    { pattern: /entryPoints\.plain\./, count: 0, why: 'nothing for tls.options "default"' },
  ];
  for (const c of cases) t.equal(lines.filter((l) => c.pattern.test(l)).length, c.count, c.why);
});
