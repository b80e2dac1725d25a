import t from 'tap';
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = resolve(__dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli.js');

// Every example configuration must stay valid: `portier check` is what a user runs first.
const configs = [
  join(ROOT, 'examples/portier.yaml'),
  ...readdirSync(join(ROOT, 'examples')).flatMap((d) => ['portier.yaml', 'portier.toml'].map((f) => join(ROOT, 'examples', d, f))).filter(existsSync),
];

t.test('every example configuration passes portier check', async (t) => {
  t.ok(configs.length >= 5, `${configs.length} example configurations`);
  // Check reads the files a running Portier would (certificates): an example that makes its own first gets them, as its README says.
  for (const script of configs.map((f) => join(dirname(f), 'make-certs.sh')).filter(existsSync)) {
    t.equal(spawnSync('bash', [script], { encoding: 'utf8' }).status, 0, `${script.slice(ROOT.length + 1)} made its certificates`);
  }
  for (const file of configs) {
    const r = spawnSync(process.execPath, [CLI, 'check', '--config', file], { encoding: 'utf8' });
    t.equal(r.status, 0, `${file.slice(ROOT.length + 1)}: ${r.stdout.trim()}${r.stderr.trim()}`);
  }
});
