import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startPortierFromFiles } from '../helpers/portier';
import { request } from '../helpers/http';

/**
 * A file of 10,000 Host routers, one of them changed 100 times through the
 * real file provider: every change is served, memory stays flat, and a
 * broken change keeps the old definition serving with its error in the API.
 */
// Each change re-reads a 10,000-router file: seconds apiece on a loaded machine, so far beyond tap's default 120 s.
t.setTimeout(30 * 60_000);

const ROUTERS = 10_000;
const CHANGES = 100;
/**
 * Growth allowed from the first sample after warm-up to the last, each
 * taken after a full collection: the live heap is the leak detector (a
 * leak of 200 kB a change fails it); RSS, which V8 and malloc return to the
 * system lazily, only has to stay bounded.
 */
const HEAP_MARGIN_MB = 16;
const RSS_MARGIN_MB = 100;
const CHANGED = 5000;

const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:0
  traefik:
    address: 127.0.0.1:0
api: {}
providers:
  providersThrottleDuration: 5ms
  file:
    filename: dynamic.yaml
    watch: true
dataDir: ./data
`;

function routes(ports: { base: number; changed: number }, rule = `Host(\`h${CHANGED}.test\`)`): string {
  const lines = ['http:', '  routers:'];
  for (let i = 0; i < ROUTERS; i++) lines.push(`    r${i}:`, `      rule: "${i === CHANGED ? rule : `Host(\`h${i}.test\`)`}"`, `      service: s${i}`);
  lines.push('  services:');
  for (let i = 0; i < ROUTERS; i++) lines.push(`    s${i}:`, '      loadBalancer:', '        servers:', `          - url: "http://127.0.0.1:${i === CHANGED ? ports.changed : ports.base}"`);
  return `${lines.join('\n')}\n`;
}

async function backend(t: Test, tag: string): Promise<number> {
  const server = http.createServer((_req, res) => res.end(tag));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** `global.gc`, made available without restarting node with --expose-gc. */
function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Live heap and RSS in MB, after a full collection. */
function memory(gc: () => void): { heap: number; rss: number } {
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed / 2 ** 20, rss: rss / 2 ** 20 };
}

t.test(`${ROUTERS} routers, one changed ${CHANGES} times`, { timeout: 30 * 60_000 }, async (t) => {
  const ports = { a: await backend(t, 'a'), b: await backend(t, 'b') };
  const { portier, dir } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': routes({ base: ports.a, changed: ports.a }) });
  const web = `http://127.0.0.1:${portier.gateway.port('web')}`;
  const api = `http://127.0.0.1:${portier.gateway.port('traefik')}`;
  const body = async (host: string): Promise<string> => {
    const r = await request(web, { host }).catch(() => undefined);
    return r?.status === 200 ? r.body : `status ${r?.status}`;
  };
  t.equal(await body(`h${ROUTERS - 1}.test`), 'a', 'the last router serves');
  // Writes by rename, as editors and config managers do: the provider never reads half a file.
  const write = (text: string): void => {
    writeFileSync(join(dir, 'dynamic.tmp'), text);
    renameSync(join(dir, 'dynamic.tmp'), join(dir, 'dynamic.yaml'));
  };

  const gc = gcFunction();
  const samples: Array<{ heap: number; rss: number }> = [];
  const unserved: number[] = [];
  const keptAlive = portier.gateway.table.routers.get('r0@file');
  for (let i = 0; i < CHANGES; i++) {
    const want = i % 2 === 0 ? 'b' : 'a';
    write(routes({ base: ports.a, changed: ports[want] }));
    await until(`change ${i}`, async () => (await body(`h${CHANGED}.test`)) === want).catch(() => unserved.push(i));
    samples.push(memory(gc));
  }
  t.same(unserved, [], 'every change is served');
  t.equal(portier.gateway.table.routers.get('r0@file'), keptAlive, 'an unchanged router is the same object after every change');
  const warm = samples[Math.min(9, samples.length - 1)];
  const last = samples[samples.length - 1];
  t.ok(last.heap <= warm.heap + HEAP_MARGIN_MB, `live heap flat: ${warm.heap.toFixed(0)} MB after warm-up, ${last.heap.toFixed(0)} MB after ${CHANGES} changes (margin ${HEAP_MARGIN_MB} MB)`);
  t.ok(last.rss <= warm.rss + RSS_MARGIN_MB, `RSS bounded: ${warm.rss.toFixed(0)} MB after warm-up, ${last.rss.toFixed(0)} MB after ${CHANGES} changes (margin ${RSS_MARGIN_MB} MB)`);

  write(routes({ base: ports.a, changed: ports.a }, `Host(\`h${CHANGED}.test\``));
  const router = async (): Promise<{ status: string; warning?: string[] }> => JSON.parse((await request(`${api}/api/http/routers/r${CHANGED}@file`)).body);
  await until('the broken change is seen', async () => (await router()).status === 'warning');
  t.match((await router()).warning, [/rule: .*new definition refused, the last good one keeps serving/], 'the API says the new definition was refused, and why');
  t.equal(await body(`h${CHANGED}.test`), 'a', 'the old definition keeps serving');
  t.equal(await body('h1.test'), 'a', 'and so does the rest of the table');
});
