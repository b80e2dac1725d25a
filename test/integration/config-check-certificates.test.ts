import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const CLI = join(resolve(__dirname, '../..'), 'dist/src/cli.js');

/** `portier check` reports the certificate files the running server could not read. */
const cases: { name: string; present: string[]; code: number; stderr: RegExp[]; stdout?: RegExp }[] = [
  {
    name: 'missing certificate and key',
    present: [],
    code: 1,
    stderr: [/error: tls\.certificates\[0\]\.certFile: cannot read \S+\/site\.crt: ENOENT/, /error: tls\.certificates\[0\]\.keyFile: cannot read \S+\/site\.key: ENOENT/, /2 errors/],
  },
  { name: 'a key that is a folder', present: ['site.crt', 'site.key/'], code: 1, stderr: [/^error: tls\.certificates\[0\]\.keyFile: cannot read \S+\/site\.key: EISDIR\n1 error\n$/] },
  { name: 'both readable', present: ['site.crt', 'site.key'], code: 0, stderr: [/^$/], stdout: /configuration OK .*1 dynamic file/ },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'portier-check-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    for (const f of c.present) {
      if (f.endsWith('/')) mkdirSync(join(dir, f));
      else writeFileSync(join(dir, f), 'pem');
    }
    writeFileSync(join(dir, 'portier.yaml'), 'providers:\n  file:\n    filename: dynamic.yaml\n');
    writeFileSync(join(dir, 'dynamic.yaml'), `tls:\n  certificates:\n    - certFile: ${join(dir, 'site.crt')}\n      keyFile: ${join(dir, 'site.key')}\n`);
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((ok) =>
      execFile(process.execPath, [CLI, 'check', '--config', join(dir, 'portier.yaml')], { timeout: 20_000 }, (err, stdout, stderr) =>
        ok({ code: err ? Number(err.code) : 0, stdout, stderr }),
      ),
    );
    t.equal(out.code, c.code, 'exit code');
    for (const re of c.stderr) t.match(out.stderr, re);
    if (c.stdout) t.match(out.stdout, c.stdout);
  });
}
