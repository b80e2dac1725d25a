/**
 * The production observability example hangs together: Portier's config
 * loads, promtool accepts Prometheus's config and alert rules, the compose
 * file mounts files that exist where the provisioning expects them, and
 * every Grafana panel uses the datasource variable.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { loadStaticConfig } from '../../src/config/load';

const root = path.join(__dirname, '..', '..');
const prod = path.join(root, 'examples', 'production');
const yaml = (f: string): any => parse(fs.readFileSync(f, 'utf8'));

t.test('portier.yaml: metrics and access log decode', async (t) => {
  const { config } = loadStaticConfig({ file: path.join(prod, 'portier.yaml'), flags: ['--entryPoints.metrics.address=:8082'], env: {} });
  t.equal(config.metrics?.prometheus?.entryPoint, 'metrics');
  t.equal(config.entryPoints.metrics?.address, ':8082', 'the compose flag moves the metrics entrypoint');
  t.equal(config.accessLog?.format, 'json');
});

t.test('promtool accepts the Prometheus config and the alert rules', async (t) => {
  if (!fs.existsSync('/usr/bin/promtool')) {
    if (process.env.CI === 'true') t.fail('promtool (Debian prometheus) required under CI');
    else process.stderr.write('\n*** SKIPPING promtool checks: /usr/bin/promtool missing (apt-get install prometheus) ***\n\n');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-promtool-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The config names the rules at their container path; point it at the checkout's file.
  const config = fs.readFileSync(path.join(prod, 'prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', path.join(prod, 'alerts.yml'));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const cases = [
    ['check', 'config', path.join(dir, 'prometheus.yml')],
    ['check', 'rules', path.join(prod, 'alerts.yml')],
  ];
  for (const args of cases) {
    const out = execFileSync('promtool', args, { encoding: 'utf8' });
    t.match(out, /SUCCESS/, `promtool ${args.slice(0, 2).join(' ')}`);
  }
});

t.test('compose mounts and provisioning agree', async (t) => {
  const compose = yaml(path.join(prod, 'docker-compose.yml'));
  const mounts = new Map<string, string>();
  for (const svc of Object.values<any>(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const [src, target] = String(v).split(':');
      if (!src.startsWith('.')) continue;
      t.ok(fs.existsSync(path.join(prod, src)), `${src} exists`);
      mounts.set(target, path.join(prod, src));
    }
  }
  const scrape = yaml(path.join(prod, 'prometheus.yml')).scrape_configs[0].static_configs[0].targets[0];
  const flag = compose.services.portier.command.find((c: string) => c.startsWith('--entryPoints.metrics.address='));
  t.equal(scrape.split(':')[1], flag.split(':').pop(), 'Prometheus scrapes the port the metrics entrypoint listens on');

  const provider = yaml(path.join(root, 'grafana/provisioning/dashboards/portier.yml')).providers[0];
  const dashboards = mounts.get(provider.options.path);
  t.ok(dashboards && fs.existsSync(path.join(dashboards, 'portier.json')), 'the dashboard provider path is where grafana/ is mounted');
  const ds = yaml(path.join(root, 'grafana/provisioning/datasources/prometheus.yml')).datasources[0];
  t.equal(ds.type, 'prometheus');
  t.equal(new URL(ds.url).host, 'prometheus:9090', 'the datasource is the compose Prometheus');

  const dash = JSON.parse(fs.readFileSync(path.join(root, 'grafana/portier.json'), 'utf8'));
  t.ok(dash.templating.list.some((v: any) => v.name === 'datasource' && v.type === 'datasource' && v.query === 'prometheus'), 'datasource variable');
  for (const p of dash.panels.filter((x: any) => x.type !== 'row')) {
    t.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" uses the datasource variable`);
  }
});
