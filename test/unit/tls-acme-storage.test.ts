/**
 * The ACME storage file: mode 0600, atomic replacement (a writer killed with
 * SIGKILL leaves a valid file), and clear refusals naming the file when it
 * is unsafe or unreadable, without ever overwriting it.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AcmeStorage, emptyStorage } from '../../src/tls/acme-storage';
import { TlsManager } from '../../src/tls';

const CONFIG_PATH = 'certificatesResolvers.le.acme.storage';

const tmp = (t: { teardown(fn: () => void): void }): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-acme-storage-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test('round trip, mode 0600, missing and empty files', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'sub', 'acme.json');
  const storage = new AcmeStorage(file, CONFIG_PATH);
  t.same(storage.load(), emptyStorage(), 'a missing file is an empty store');
  const data = { ...emptyStorage(), caServer: 'https://ca.test/dir', failures: { 'a.test': { attempts: 2, lastAttemptAt: 'x', nextAttemptAt: 'y', lastError: 'z' } } };
  storage.save(data);
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'written with mode 0600');
  t.same(storage.load(), data);
  t.same(fs.readdirSync(path.dirname(file)), ['acme.json'], 'no temporary file left behind');
  fs.writeFileSync(file, '', { mode: 0o600 });
  t.same(storage.load(), emptyStorage(), 'an empty file (touch acme.json) is an empty store');
});

t.test('unsafe or unreadable files are refused, naming the file, and left untouched', async (t) => {
  const dir = tmp(t);
  const cases: { name: string; content: string | null; mode: number; error: RegExp }[] = [
    { name: 'world-readable', content: JSON.stringify(emptyStorage()), mode: 0o644, error: /readable by others \(mode 0644\): run chmod 600/ },
    { name: 'group-readable', content: JSON.stringify(emptyStorage()), mode: 0o640, error: /mode 0640/ },
    { name: 'truncated JSON', content: '{"version":1,"certificates":[{"main":', mode: 0o600, error: /is not valid JSON.*will not overwrite/ },
    { name: 'Traefik acme.json', content: JSON.stringify({ le: { Account: {}, Certificates: [] } }), mode: 0o600, error: /not a Portier ACME storage file/ },
    { name: 'a directory', content: null, mode: 0o700, error: /is not a regular file/ },
  ];
  for (const c of cases) {
    const file = path.join(dir, c.name.replace(/\W+/g, '-'));
    if (c.content === null) fs.mkdirSync(file);
    else fs.writeFileSync(file, c.content);
    fs.chmodSync(file, c.mode);
    const err = t.throws(() => new AcmeStorage(file, CONFIG_PATH).load(), { code: 'CONFIG_INVALID', path: CONFIG_PATH }, c.name) as Error;
    t.match(err.message, c.error, `${c.name}: says why`);
    t.ok(err.message.includes(file), `${c.name}: names the file`);
    // The gateway refuses to start with the same error.
    t.throws(
      () => new TlsManager({ dataDir: dir, resolvers: { le: { acme: { storage: file, httpChallenge: { entryPoint: 'web' } } } } }),
      { code: 'CONFIG_INVALID', path: CONFIG_PATH },
      `${c.name}: TlsManager refuses to start`,
    );
    if (c.content !== null) t.equal(fs.readFileSync(file, 'utf8'), c.content, `${c.name}: file left as it was`);
  }
});

t.test('a writer killed with SIGKILL mid-write leaves a valid file', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'acme.json');
  const writer = path.join(__dirname, '..', 'helpers', 'storage-writer.ts');
  for (let round = 0; round < 4; round++) {
    const child = spawn(process.execPath, [...process.execArgv, writer, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    // Let it rewrite the file many times, then kill it at an arbitrary point.
    await new Promise((r) => setTimeout(r, 30 + round * 40));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const data = new AcmeStorage(file, CONFIG_PATH).load();
    t.ok(data.certificates.length >= 1 && data.certificates.every((c) => c.certificate.length === 4000), `round ${round}: complete, valid content`);
    t.same(fs.readdirSync(dir), ['acme.json'], `round ${round}: the killed writer's temporary file is cleaned up on load`);
  }
});
