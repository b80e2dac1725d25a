/**
 * buffering holds bodies far larger than memory allows: the real gateway
 * (its own process, so its RSS is its own) spools a 512 MiB upload and a
 * 512 MiB response from fast peers to its temporary file while its
 * resident memory stays near memRequestBodyBytes / memResponseBodyBytes,
 * passes every byte on with a Content-Length, and removes the file after.
 */
import t from 'tap';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { spawnPortier } from '../helpers/cli-process';

const MiB = 1024 * 1024;
const BODY_BYTES = 512 * MiB;
/**
 * How much the gateway's RSS may grow while holding a body 512 MiB large.
 * Measured: about 40–60 MB, the same for 1 GiB (garbage the collector has
 * not reached yet); 130–370 MB when the client was not made to wait.
 */
const GROWTH_LIMIT = 100 * 1000 * 1000;

/**
 * The body: one random MiB repeated, each copy's first bytes replaced by
 * its index so that a lost, repeated or reordered chunk changes the digest.
 * Its digest is computed beforehand, so the sender does nothing but send.
 */
function bodyDigest(block: Buffer, total: number): string {
  const hash = createHash('sha256');
  const chunk = Buffer.from(block);
  for (let i = 0, sent = 0; sent < total; i++, sent += MiB) {
    chunk.writeUInt32BE(i, 0);
    hash.update(chunk.subarray(0, Math.min(MiB, total - sent)));
  }
  return hash.digest('hex');
}

/**
 * Writes the body as fast as the socket takes it, from a few buffers
 * reused once their write has completed: a fast peer that holds almost
 * nothing itself.
 */
async function sendBody(out: NodeJS.WritableStream, block: Buffer, total: number): Promise<void> {
  const free = Array.from({ length: 4 }, () => Buffer.from(block));
  let waiting: (() => void) | undefined;
  for (let i = 0, sent = 0; sent < total; i++, sent += MiB) {
    while (free.length === 0) await new Promise<void>((r) => (waiting = r));
    const chunk = free.pop()!;
    chunk.writeUInt32BE(i, 0);
    out.write(chunk.subarray(0, Math.min(MiB, total - sent)), () => {
      free.push(chunk);
      waiting?.();
    });
  }
  out.end();
}

async function receive(stream: NodeJS.ReadableStream): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Resident memory of a process in bytes, now and at its peak (VmHWM, which `clear_refs` 5 resets). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

interface Seen {
  bytes: number;
  sha256: string;
  headers: http.IncomingHttpHeaders;
}

t.test('buffering spools bodies much larger than memory with bounded RSS', async (t) => {
  const block = randomBytes(MiB);
  const digest = bodyDigest(block, BODY_BYTES);
  const upstream: Seen[] = [];
  const backend = http.createServer((req, res) => {
    void receive(req).then((got) => {
      upstream.push({ ...got, headers: req.headers });
      const m = /^\/download\/(\d+)$/.exec(req.url ?? '');
      if (!m) return void res.end('ok');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      void sendBody(res, block, Number(m[1]));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    backend.closeAllConnections();
    backend.close();
  });
  const buffering = `{ maxRequestBodyBytes: ${2 * BODY_BYTES}, maxResponseBodyBytes: ${2 * BODY_BYTES} }`;
  const files = {
    'portier.yaml': 'entryPoints:\n  web:\n    address: 127.0.0.1:0\nproviders:\n  file:\n    filename: dynamic.yaml\n    watch: false\nlog:\n  level: info\n',
    'dynamic.yaml': `http:
  middlewares:
    hold:
      buffering: ${buffering}
  routers:
    big:
      rule: Host(\`big.test\`)
      middlewares: [hold]
      service: backend
  services:
    backend:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:${(backend.address() as AddressInfo).port}
`,
  };

  const cases = [
    { name: 'chunked upload', path: '/', upload: { chunked: true } },
    { name: 'upload with Content-Length', path: '/', upload: { chunked: false } },
    { name: 'response held by maxResponseBodyBytes', path: `/download/${BODY_BYTES}`, upload: undefined },
  ];
  for (const c of cases) {
    // A gateway per case: memory a previous body left to the allocator would hide this one's growth.
    const dir = t.testdir({ spool: {} });
    // The gateway's temporary files land here, so the test can see them removed.
    const spoolDir = path.join(dir, 'spool');
    const portier = spawnPortier(t, dir, { ...files, 'portier.yaml': `${files['portier.yaml']}dataDir: ${dir}\n` }, { TMPDIR: spoolDir });
    if (!portier) return;
    const port = Number((await portier.waitFor(/entryPoint=web address=127\.0\.0\.1:(\d+)/, 30_000))?.[1]);
    t.ok(port > 0, `${c.name}: portier is serving on ${port}`);
    if (!port) return void t.comment(portier.output());
    const pid = portier.child.pid!;

    const exchange = (urlPath: string, upload: { chunked: boolean; bytes: number } | undefined): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number; sha256: string }> =>
      new Promise((resolve, reject) => {
        const headers: http.OutgoingHttpHeaders = { host: 'big.test' };
        if (upload && !upload.chunked) headers['content-length'] = upload.bytes;
        const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: upload ? 'POST' : 'GET', headers, agent: false }, (res) => {
          receive(res).then((got) => resolve({ status: res.statusCode ?? 0, headers: res.headers, ...got }), reject);
        });
        req.on('error', reject);
        if (upload) void sendBody(req, block, upload.bytes);
        else req.end();
      });

    // A small request warms the route and the code paths up; the baseline is taken after it.
    let warm = { status: 0 };
    const deadline = Date.now() + 30_000;
    while (warm.status !== 200 && Date.now() < deadline) {
      warm = await exchange('/', { chunked: false, bytes: 1000 }).catch(() => ({ status: 0 }));
      if (warm.status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(warm.status, 200, `${c.name}: the buffered route answers`);

    const before = memory(pid).rss;
    let resetPeak = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      resetPeak = false;
    }
    let sampled = before;
    const sampler = setInterval(() => (sampled = Math.max(sampled, memory(pid).rss)), 20);
    const started = Date.now();
    upstream.length = 0;
    const reply = await exchange(c.path, c.upload && { ...c.upload, bytes: BODY_BYTES });
    clearInterval(sampler);
    const peak = Math.max(sampled, resetPeak ? memory(pid).peak : 0);
    const mb = (n: number): string => `${(n / 1e6).toFixed(0)} MB`;
    t.comment(`${c.name}, 512 MiB: ${Date.now() - started} ms, RSS ${mb(before)} before, peak ${mb(peak)} (+${mb(peak - before)})`);

    t.equal(reply.status, 200, `${c.name}: status`);
    t.equal(upstream.length, 1, `${c.name}: one upstream request`);
    const received = c.upload ? upstream[0] : reply;
    t.equal(received?.bytes, BODY_BYTES, `${c.name}: every byte arrived`);
    t.equal(received?.sha256, digest, `${c.name}: in order`);
    t.equal(received?.headers['content-length'], String(BODY_BYTES), `${c.name}: with its Content-Length`);
    t.equal(received?.headers['transfer-encoding'], undefined, `${c.name}: not chunked`);
    t.ok(peak - before < GROWTH_LIMIT, `${c.name}: RSS grew ${mb(peak - before)} (limit ${mb(GROWTH_LIMIT)})`);
    // The response's close releases the spool; give the unlink a moment.
    let left = readdirSync(spoolDir);
    for (let i = 0; left.length > 0 && i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      left = readdirSync(spoolDir);
    }
    t.same(left, [], `${c.name}: the temporary file is removed`);
    portier.child.kill('SIGTERM');
    await portier.exited;
  }
});
