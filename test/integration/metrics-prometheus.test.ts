/**
 * A real Prometheus scrapes two real Portiers (prefix portier and prefix
 * traefik) while a bounded load runs; then every panel expression of
 * grafana/*.json, read from the file, must return data for both prefixes,
 * and the families carry Traefik's names and labels.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { startEchoBackend } from '../helpers/echo';
import { requirePrometheus, startPrometheus } from '../helpers/prometheus';
import { startPortierFromYaml, selfSignedCert, RunningPortier } from './metrics-fixtures';
import { freePort } from '../../src/engine/free-port';

const GRAFANA = path.join(__dirname, '../../grafana');

/** Every `expr` of every panel (nested rows included) of every dashboard file. */
function panelExpressions(): { file: string; panel: string; expr: string }[] {
  const out: { file: string; panel: string; expr: string }[] = [];
  const walk = (file: string, panels: { title?: string; targets?: { expr?: string }[]; panels?: unknown[] }[]): void => {
    for (const p of panels) {
      for (const target of p.targets ?? []) if (target.expr) out.push({ file, panel: p.title ?? '?', expr: target.expr });
      walk(file, (p.panels ?? []) as typeof panels);
    }
  };
  for (const file of fs.readdirSync(GRAFANA).filter((f) => f.endsWith('.json'))) {
    walk(file, JSON.parse(fs.readFileSync(path.join(GRAFANA, file), 'utf8')).panels ?? []);
  }
  return out;
}

/** What Grafana would substitute: intervals, the prefix, "All" for the router/service variables. */
function substitute(expr: string, prefix: string): string {
  const out = expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__interval|\$\{__interval\}/g, '5s')
    .replace(/\$__range|\$\{__range\}/g, '5m')
    .replace(/\$\{prefix\}|\$prefix\b/g, prefix)
    .replace(/\$\{(router|service)\}|\$(router|service)\b/g, '.*');
  if (/\$/.test(out)) throw new Error(`unknown variable left in ${out}`);
  return out;
}

function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host }, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

t.test('every Grafana panel has data in Prometheus, for both prefixes', async (t) => {
  if (!requirePrometheus(t)) return;
  const echo = await startEchoBackend('shop');
  t.teardown(() => echo.close());
  const deadPort = await freePort();
  const portiers: Record<string, RunningPortier> = {};
  for (const prefix of ['portier', 'traefik']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-cert-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const cert = selfSignedCert(dir, `${prefix}.test`);
    const p = await startPortierFromYaml(
      `api: {}\nmetrics:\n  prometheus:\n    prefix: ${prefix}\n`,
      `http:
  routers:
    shop: { rule: "Host(\`shop.test\`)", service: shop }
    broken: { rule: "Host(\`broken.test\`)", service: dead }
  services:
    shop: { loadBalancer: { servers: [ { url: "${echo.url}" } ] } }
    dead: { loadBalancer: { servers: [ { url: "http://127.0.0.1:${deadPort}" } ] } }
tls:
  certificates:
    - certFile: ${cert.certFile}
      keyFile: ${cert.keyFile}
`,
    );
    t.teardown(() => p.close());
    portiers[prefix] = p;
  }
  const prom = await startPrometheus(Object.entries(portiers).map(([prefix, p]) => ({ job: prefix, address: p.url('metrics').slice('http://'.length) })));
  t.teardown(() => prom.stop());

  // Bounded load: 300 requests per Portier, 200 / 502 / 404 mixed.
  const hosts = ['shop.test', 'shop.test', 'shop.test', 'broken.test', 'nowhere.test'];
  const counts: Record<number, number> = {};
  for (const p of Object.values(portiers)) {
    for (let i = 0; i < 300; i += 10) {
      const codes = await Promise.all(hosts.concat(hosts).map((h) => get(p.url('web'), h)));
      for (const c of codes) counts[c] = (counts[c] ?? 0) + 1;
    }
  }
  t.same(Object.keys(counts).sort(), ['200', '404', '502'], 'the load produced 200, 404 and 502 answers');

  for (const prefix of Object.keys(portiers)) {
    await prom.waitFor(`sum(${prefix}_entrypoint_requests_total{entrypoint="web"})`, (s) => Number(s[0]?.value[1]) >= 300);
  }
  // One more scrape after the last request, so every rate() has two points.
  await new Promise((r) => setTimeout(r, 2500));

  const exprs = panelExpressions();
  t.ok(exprs.length >= 20, `the dashboard has panel expressions (${exprs.length})`);
  for (const prefix of Object.keys(portiers)) {
    for (const { file, panel, expr } of exprs) {
      const q = substitute(expr, prefix);
      const result = await prom.query(q);
      t.ok(result.length > 0, `${prefix}: ${file} "${panel}" has data: ${q}`);
    }
  }

  const cases: { expr: string; labels: Record<string, string> }[] = [
    { expr: 'entrypoint_requests_total{code="200"}', labels: { code: '200', method: 'GET', protocol: 'http', entrypoint: 'web' } },
    { expr: 'entrypoint_requests_total{code="404"}', labels: { code: '404', method: 'GET', protocol: 'http', entrypoint: 'web' } },
    { expr: 'router_requests_total{code="502"}', labels: { code: '502', method: 'GET', protocol: 'http', router: 'broken@file', service: 'dead@file' } },
    { expr: 'service_requests_total{code="200"}', labels: { code: '200', method: 'GET', protocol: 'http', service: 'shop@file' } },
    { expr: 'service_server_up{service="shop@file"}', labels: { service: 'shop@file', url: echo.url } },
    { expr: 'tls_certs_not_after', labels: { sans: '' } },
    { expr: 'open_connections', labels: { protocol: 'http' } },
  ];
  for (const prefix of Object.keys(portiers)) {
    for (const c of cases) {
      const [sample] = await prom.query(`${prefix}_${c.expr}`);
      t.ok(sample, `${prefix}_${c.expr} exists`);
      for (const [k, v] of Object.entries(c.labels)) {
        if (k === 'sans') t.match(sample?.metric.sans ?? '', new RegExp(`^${prefix}\\.test,www\\.${prefix}\\.test$`), `${prefix} certificate sans`);
        else t.equal(sample?.metric[k], v, `${prefix}_${c.expr} label ${k}`);
      }
    }
    const notAfter = Number((await prom.query(`${prefix}_tls_certs_not_after`))[0]?.value[1]);
    t.ok(Math.abs(notAfter - (Date.now() / 1000 + 30 * 86400)) < 3600, `${prefix}: certificate expiry is 30 days out`);
  }
  const traefikOnly = await prom.query('{__name__=~"traefik_.+", job="portier"}');
  t.equal(traefikOnly.length, 0, 'the portier-prefixed Portier exports no traefik_ names');
  t.ok((await prom.query('process_resident_memory_bytes{job="traefik"}')).length, 'prefix traefik: process metrics unprefixed, as Traefik');
  t.ok((await prom.query('portier_process_resident_memory_bytes{job="portier"}')).length, 'prefix portier: process metrics prefixed');
});
