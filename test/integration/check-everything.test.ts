import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli-process';

/**
 * `portier check` (the built CLI) reports every static and dynamic error and
 * warning in one run, each `file:line: path: message`, including what only
 * compiling finds; it exits non-zero only for errors.
 */
const fiveMistakes = `http:
  routers:
    shop:
      rule: Host(\`shop.localhost\`) && PathPrefix(\`/v1\`
      service: shop
    admin:
      rule: Host(\`admin.localhost\`)
      entryPoints: [web, internal]
      middlewares: [auth, compress-it]
      service: backoffice
  services:
    shop:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
  middlewares:
    auth:
      basicAuth:
        usersFile: ./missing-users
    compress-it:
      gzip:
        level: 5
    legacy:
      headers:
        sslRedirect: true
`;

interface Case {
  name: string;
  files: Record<string, string>;
  code: number;
  /** Each must match one line of the output. */
  lines: RegExp[];
  summary: RegExp;
}

const cases: Case[] = [
  {
    name: 'five mistakes in a dynamic file, plus a static error and warnings: all in one run',
    files: {
      'portier.yaml': 'entryPoints:\n  web:\n    address: ":8080"\nlog:\n  level: verbose\npilot:\n  token: x\nproviders:\n  file:\n    filename: dynamic.yaml\n',
      'dynamic.yaml': fiveMistakes,
    },
    code: 1,
    lines: [
      /^error: \S+\/portier\.yaml:5: log\.level: expected one of debug, info, warn, error, got "verbose"$/,
      /^error: \S+\/dynamic\.yaml:4: http\.routers\.shop\.rule: unexpected end of rule at \d+/,
      /^error: \S+\/dynamic\.yaml:6: http\.routers\.admin: entryPoint "internal" does not exist$/,
      /^error: \S+\/dynamic\.yaml:6: http\.routers\.admin: service backoffice@file does not exist$/,
      /^error: \S+\/dynamic\.yaml:17: http\.middlewares\.auth: usersFile: cannot read \S+missing-users: ENOENT/,
      /^error: \S+\/dynamic\.yaml:20: http\.middlewares\.compress-it: unknown middleware type "gzip"$/,
      /^warning: \S+\/portier\.yaml:6: pilot: Traefik Pilot was removed in Traefik v3, and Portier has none, ignored$/,
      /^warning: \S+\/dynamic\.yaml:25: http\.middlewares\.legacy\.headers\.sslRedirect: deprecated in Traefik v2/,
    ],
    summary: /^6 errors, 2 warnings$/m,
  },
  {
    name: 'warnings alone: exit 0',
    files: {
      'portier.yaml': 'global:\n  checkNewVersion: true\nproviders:\n  file:\n    filename: dynamic.yaml\n',
      'dynamic.yaml': 'http:\n  middlewares:\n    legacy:\n      headers:\n        sslTemporaryRedirect: true\n',
    },
    code: 0,
    lines: [
      /^warning: \S+\/portier\.yaml:2: global\.checkNewVersion: Portier never checks for new versions, ignored$/,
      /^warning: \S+\/dynamic\.yaml:5: http\.middlewares\.legacy\.headers\.sslTemporaryRedirect: deprecated/,
    ],
    summary: /^configuration OK \(\S+portier\.yaml, 1 dynamic file\) with 2 warnings$/m,
  },
  {
    name: 'invalid htpasswd entries, each at its line',
    files: {
      'portier.yaml': 'providers:\n  file:\n    filename: dynamic.yaml\n',
      'dynamic.yaml': 'http:\n  middlewares:\n    auth:\n      basicAuth:\n        users:\n          - "alice"\n          - "bob:{SHA}x"\n',
    },
    code: 1,
    lines: [/^error: \S+\/dynamic\.yaml:6: http\.middlewares\.auth\.basicAuth\.users\[0\]: /, /^error: \S+\/dynamic\.yaml:7: http\.middlewares\.auth\.basicAuth\.users\[1\]: /],
    summary: /^2 errors$/m,
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'portier-check-all-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, text] of Object.entries(c.files)) writeFileSync(join(dir, name), text);
    const out = await new Promise<{ code: number; text: string }>((ok) =>
      execFile(process.execPath, [CLI, 'check', '--config', join(dir, 'portier.yaml')], { cwd: dir, timeout: 30_000 }, (err, stdout, stderr) =>
        ok({ code: err ? Number(err.code) : 0, text: stderr + stdout }),
      ),
    );
    t.equal(out.code, c.code, 'exit code');
    const lines = out.text.split('\n');
    for (const re of c.lines) t.ok(lines.some((l) => re.test(l)), String(re));
    if (!c.lines.every((re) => lines.some((l) => re.test(l)))) t.comment(out.text);
    t.match(out.text, c.summary, 'summary');
  });
}
