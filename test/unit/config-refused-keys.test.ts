import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStaticConfig } from '../../src/config/load';

/** Keys Portier used to accept and ignore silently: each now works, is refused, or warns, naming its path. */
const cases: {
  name: string;
  yaml: string;
  flags?: string[];
  error?: RegExp;
  warning?: RegExp;
  check?: (c: ReturnType<typeof loadStaticConfig>['config'], dir: string) => unknown;
}[] = [
  {
    name: 'providers.file with filename and directory is refused',
    yaml: 'providers:\n  file:\n    filename: a.yaml\n    directory: conf.d\n',
    error: /portier\.yaml:2: providers\.file: set filename or directory, not both$/,
  },
  { name: 'providers.file with filename alone', yaml: 'providers:\n  file:\n    filename: a.yaml\n', check: (c, dir) => c.providers.file?.filename === join(dir, 'a.yaml') },
  { name: 'providers.file with directory alone', yaml: 'providers:\n  file:\n    directory: conf.d\n', check: (c, dir) => c.providers.file?.directory === join(dir, 'conf.d') },
  // Traefik accepts it; Portier starts, and says there is nothing behind it.
  { name: 'api.debug: true warns', yaml: 'api:\n  debug: true\n', warning: /portier\.yaml:2: api\.debug: Portier has no debug endpoints \(\/debug\/vars, \/debug\/pprof\), ignored$/ },
  { name: 'api.debug=true as a flag warns', yaml: 'api: {}\n', flags: ['--api.debug=true'], warning: /portier\.yaml:1: api\.debug: Portier has no debug endpoints/ },
  { name: 'api.debug: false is fine', yaml: 'api:\n  debug: false\n', check: (c) => c.api?.dashboard === true },
  { name: 'api without debug is fine', yaml: 'api: {}\n', check: (c) => c.api?.dashboard === true },
  { name: 'log.filePath resolves against the config file folder', yaml: 'log:\n  filePath: logs/portier.log\n', check: (c, dir) => c.log.filePath === join(dir, 'logs/portier.log') },
  { name: 'an absolute log.filePath stays', yaml: 'log:\n  filePath: /var/log/portier.log\n', check: (c) => c.log.filePath === '/var/log/portier.log' },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'portier-config-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'portier.yaml'), c.yaml);
    const load = (): ReturnType<typeof loadStaticConfig> => loadStaticConfig({ file: join(dir, 'portier.yaml'), flags: c.flags, env: {} });
    if (c.error) t.throws(load, { message: c.error });
    else if (c.warning) t.match(load().warnings.map((w) => w.message), [c.warning], 'loads, with the warning');
    else t.ok(c.check!(load().config, dir), 'decoded as expected');
  });
}
