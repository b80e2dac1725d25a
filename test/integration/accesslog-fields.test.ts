/**
 * The access log of a real Portier: Traefik's JSON field names and CLF
 * line, header keep/drop/redact, filters, buffered writes and reopening
 * the file on SIGUSR1 (logrotate).
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startEchoBackend, EchoBackend } from '../helpers/echo';
import { request } from '../helpers/http';
import { startPortierFromYaml, until } from './metrics-fixtures';
import { freePort } from '../../src/engine/free-port';
import { createAccessLog } from '../../src/log/access-log';
import { staticConfigDecoder } from '../../src/config/static';
import { silentLogger } from '../../src/log/logger';
import type { RequestRecord } from '../../src/server/observer';
import { newOrigin } from '../../src/proxy/exchange';

let echo: EchoBackend;
let deadPort: number;

t.before(async () => {
  echo = await startEchoBackend('shop', (req, res) => {
    if (!req.url?.startsWith('/slow')) return false;
    setTimeout(() => res.end('slow'), 300);
    return true;
  });
  deadPort = await freePort();
});
t.teardown(() => echo.close());

const dynamic = (): string => `http:
  routers:
    shop: { rule: "Host(\`shop.test\`)", service: shop }
    flaky: { rule: "Host(\`flaky.test\`)", service: flaky, middlewares: [retry] }
  middlewares:
    retry: { retry: { attempts: 2 } }
  services:
    shop: { loadBalancer: { servers: [ { url: "${echo.url}" } ] } }
    flaky: { loadBalancer: { servers: [ { url: "http://127.0.0.1:${deadPort}" } ] } }
`;

const readLines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

t.test('JSON lines with Traefik field names; secrets redacted even when headers are kept', async (t) => {
  const p = await startPortierFromYaml(
    'accessLog:\n  filePath: access.json\n  format: json\n  fields:\n    headers:\n      defaultMode: keep\n      names:\n        User-Agent: drop\n        X-Api-Key: redact\n',
    dynamic(),
  );
  t.teardown(() => p.close());
  const file = path.join(p.dir, 'access.json');
  const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
  const reply = await request(`${p.url('web')}/v1/users?page=2`, {
    host: 'shop.test', method: 'POST', body: 'hello',
    headers: { authorization: auth, cookie: 'sid=abc', 'x-api-key': 'k-123', 'x-trace': 'trace-1', 'user-agent': 'test-agent', 'content-length': '5' },
  });
  t.equal(reply.status, 200);
  await until('the access log line', () => readLines(file).length === 1);
  const entry = JSON.parse(readLines(file)[0]) as Record<string, unknown>;
  const expected: [string, unknown][] = [
    ['ClientHost', '127.0.0.1'],
    ['ClientUsername', 'alice'],
    ['DownstreamStatus', 200],
    ['OriginStatus', 200],
    ['RequestMethod', 'POST'],
    ['RequestPath', '/v1/users?page=2'],
    ['RequestHost', 'shop.test'],
    ['RequestAddr', 'shop.test'],
    ['RequestProtocol', 'HTTP/1.1'],
    ['RequestScheme', 'http'],
    ['RequestContentSize', 5],
    ['RouterName', 'shop@file'],
    ['ServiceName', 'shop@file'],
    ['ServiceURL', echo.url],
    ['ServiceAddr', echo.url.slice('http://'.length)],
    ['RetryAttempts', 0],
    ['entryPointName', 'web'],
    ['request_Authorization', 'REDACTED'],
    ['request_Cookie', 'REDACTED'],
    ['request_X-Api-Key', 'REDACTED'],
    ['request_X-Trace', 'trace-1'],
    ['request_User-Agent', undefined],
    ['downstream_X-Backend', 'shop'],
    ['downstream_Content-Type', 'application/json'],
  ];
  for (const [k, v] of expected) t.same(entry[k], v, k);
  t.ok(typeof entry.Duration === 'number' && (entry.Duration as number) > 0, 'Duration in ns');
  t.equal(entry.DownstreamContentSize, Buffer.byteLength(reply.body), 'DownstreamContentSize is the body size');
  t.equal(entry.OriginContentSize, Buffer.byteLength(reply.body), 'OriginContentSize: the bytes the backend sent');
  const [duration, origin, overhead] = [entry.Duration, entry.OriginDuration, entry.Overhead] as number[];
  t.ok(origin > 0 && origin < duration, `OriginDuration is the backend's part of Duration (${origin} of ${duration} ns)`);
  t.equal(overhead, duration - origin, 'Overhead is the rest, the time Portier itself took');
  t.match(entry.StartUTC, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
  t.ok(Number(entry.ClientPort) > 0, 'ClientPort');
  t.notMatch(fs.readFileSync(file, 'utf8'), /secret|sid=abc|k-123|test-agent/, 'no secret and no dropped header anywhere in the line');
});

t.test('Common Log Format, Traefik variant', async (t) => {
  const p = await startPortierFromYaml('accessLog:\n  filePath: access.log\n', dynamic());
  t.teardown(() => p.close());
  const file = path.join(p.dir, 'access.log');
  await request(`${p.url('web')}/a?b=c`, { host: 'shop.test', headers: { referer: 'http://ref.test/', 'user-agent': 'curl/8' } });
  await request(`${p.url('web')}/missing`, { host: 'nowhere.test' });
  await until('two CLF lines', () => readLines(file).length === 2);
  const [ok, missing] = readLines(file);
  t.match(ok, /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/a\?b=c HTTP\/1\.1" 200 \d+ "http:\/\/ref\.test\/" "curl\/8" \d+ "shop@file" "http:\/\/127\.0\.0\.1:\d+" \d+ms$/);
  t.match(missing, /"GET \/missing HTTP\/1\.1" 404 \d+ "-" "-" \d+ "-" "-" \d+ms$/);
});

t.test('filters keep an entry when any of them matches', async (t) => {
  // Each case ends with a sentinel its filter keeps, so "nothing else was logged" is checked without sleeping.
  const cases: { name: string; filters: string; requests: [string, string][]; sentinel: [string, string]; logged: string[] }[] = [
    { name: 'status ranges', filters: 'statusCodes: ["400-499", "503"]', requests: [['shop.test', '/ok'], ['nowhere.test', '/404'], ['flaky.test', '/502']], sentinel: ['nowhere.test', '/sentinel'], logged: ['/404'] },
    { name: 'minDuration', filters: 'minDuration: 200ms', requests: [['shop.test', '/fast'], ['shop.test', '/slow']], sentinel: ['shop.test', '/slow/sentinel'], logged: ['/slow'] },
    { name: 'retried requests', filters: 'retryAttempts: true', requests: [['shop.test', '/plain'], ['flaky.test', '/r1'], ['nowhere.test', '/r2']], sentinel: ['flaky.test', '/sentinel'], logged: ['/r1'] },
    { name: 'any of several', filters: 'statusCodes: ["404"]\n    minDuration: 200ms', requests: [['shop.test', '/fast'], ['shop.test', '/slow'], ['nowhere.test', '/gone']], sentinel: ['nowhere.test', '/sentinel'], logged: ['/slow', '/gone'] },
  ];
  for (const c of cases) {
    const p = await startPortierFromYaml(`accessLog:\n  filePath: access.json\n  format: json\n  filters:\n    ${c.filters}\n`, dynamic());
    const file = path.join(p.dir, 'access.json');
    for (const [host, url] of c.requests) await request(`${p.url('web')}${url}`, { host });
    await request(`${p.url('web')}${c.sentinel[1]}`, { host: c.sentinel[0] });
    await until(`${c.name}: sentinel`, () => readLines(file).some((l) => l.includes('sentinel')));
    const paths = readLines(file).map((l) => JSON.parse(l).RequestPath as string).filter((x) => !x.includes('sentinel'));
    t.same(paths, c.logged, c.name);
    await p.close();
  }
});

t.test('SIGUSR1 reopens the file after logrotate moved it', async (t) => {
  const p = await startPortierFromYaml('accessLog:\n  filePath: access.log\n', dynamic());
  t.teardown(() => p.close());
  const file = path.join(p.dir, 'access.log');
  await request(`${p.url('web')}/before`, { host: 'shop.test' });
  await until('first line', () => readLines(file).length === 1);
  fs.renameSync(file, `${file}.1`);
  process.kill(process.pid, 'SIGUSR1');
  await until('a new file', () => fs.existsSync(file));
  await request(`${p.url('web')}/after`, { host: 'shop.test' });
  await until('line in the new file', () => readLines(file).length === 1);
  t.match(readLines(`${file}.1`)[0], /GET \/before /, 'old lines stay in the rotated file');
  t.match(readLines(file)[0], /GET \/after /, 'new lines go to the new file');
});

t.test('bufferingSize writes N lines at a time', async (t) => {
  const cfg = staticConfigDecoder({ accessLog: { format: 'common', bufferingSize: 3 } }, '').accessLog!;
  const out = new PassThrough();
  const writes: string[] = [];
  out.on('data', (c: Buffer) => writes.push(c.toString()));
  const log = createAccessLog(cfg, silentLogger, out);
  t.teardown(() => log.close());
  const rec = (i: number): RequestRecord => ({
    ex: {
      entryPoint: 'web', tls: false, remoteIp: '127.0.0.1', clientIp: '127.0.0.1', retryAttempts: 0, match: { host: 'a' }, origin: newOrigin(),
      req: { method: 'GET', url: `/${i}`, httpVersion: '1.1', headers: { host: 'a' }, socket: { remotePort: 1 } },
      res: { getHeaders: () => ({}) },
    } as unknown as RequestRecord['ex'],
    status: 200, bytesIn: 0, bytesOut: 1, durationMs: 1, aborted: false,
  });
  for (const i of [1, 2]) log.requestEnded(rec(i));
  await new Promise((r) => setImmediate(r));
  t.equal(writes.length, 0, 'two lines stay buffered');
  log.requestEnded(rec(3));
  await new Promise((r) => setImmediate(r));
  t.equal(writes.length, 1, 'the third line flushes the buffer in one write');
  t.equal(writes[0].split('\n').filter(Boolean).length, 3);
  log.requestEnded(rec(4));
  await log.close();
  t.match(writes.join(''), /GET \/4 /, 'close flushes the rest');
});

t.test('a bad status filter is a configuration error with its path', async (t) => {
  for (const bad of ['5xx', '499-400', '2000']) {
    t.throws(() => staticConfigDecoder({ accessLog: { filters: { statusCodes: ['200', bad] } } }, ''), /accessLog\.filters\.statusCodes\[1\]: expected a status code or a range/, bad);
  }
});
