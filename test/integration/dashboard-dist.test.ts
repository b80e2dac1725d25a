/**
 * The built program (`npm run build` → dist/, what `portier` runs) as a real
 * process: its dashboard files are found from dist/, and `portier explain`
 * asks its API.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { request } from '../helpers/http';
import { freePort } from '../../src/engine/free-port';
import { until } from './metrics-fixtures';

const CLI = path.join(__dirname, '../../dist/src/cli.js');

t.test('the built portier serves its dashboard and answers explain', async (t) => {
  t.ok(fs.existsSync(CLI), `${CLI} exists (npm test builds first; else run npm run build)`);
  if (!fs.existsSync(CLI)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-dist-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [web, api] = [await freePort(), await freePort()];
  fs.writeFileSync(path.join(dir, 'dynamic.yaml'), 'http:\n  routers:\n    shop: { rule: "Host(`shop.test`)", service: shop }\n  services:\n    shop: { loadBalancer: { servers: [ { url: "http://127.0.0.1:9" } ] } }\n');
  fs.writeFileSync(
    path.join(dir, 'portier.yaml'),
    `entryPoints:\n  web: { address: "127.0.0.1:${web}" }\n  traefik: { address: "127.0.0.1:${api}" }\napi: {}\nproviders:\n  file: { filename: dynamic.yaml }\ndataDir: ${dir}/data\nlog: { level: warn }\n`,
  );
  const child = spawn(process.execPath, [CLI, '--config', path.join(dir, 'portier.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const base = `http://127.0.0.1:${api}`;
  await until('the API', () => request(`${base}/api/http/routers/shop@file`).then((r) => r.status === 200, () => false), 20_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${output}`);
  });

  const assets: [string, RegExp][] = [
    ['/dashboard/', /<title>Portier dashboard<\/title>/],
    ['/dashboard/app.js', /EventSource\('\.\.\/api\/events'\)/],
    ['/dashboard/style.css', /--accent/],
  ];
  for (const [p, body] of assets) {
    const r = await request(`${base}${p}`);
    t.equal(r.status, 200, `${p} from dist`);
    t.match(r.body, body);
  }

  const explained = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'explain', 'http://shop.test/cart', '--api', base], (err, stdout) => resolve({ code: err ? Number(err.code) : 0, out: stdout }));
  });
  t.equal(explained.code, 0);
  t.match(explained.out, /^MATCH {2}shop@file/m);
  t.match(explained.out, /service: shop@file/);

  child.kill('SIGTERM');
  await until('a clean exit', () => child.exitCode !== null, 15_000);
  t.equal(child.exitCode, 0, 'stops cleanly on SIGTERM');
});
