import t from 'tap';
import { startPortierFromFiles } from '../helpers/portier';

/**
 * Keys a Traefik file may carry that Portier accepts without applying: the
 * file still loads, and the object says so in its warnings (as labels do).
 */
t.test('router observability: accepted, not applied, said on the router', async (t) => {
  const dynamic = `http:
  routers:
    quiet:
      rule: Host(\`quiet.localhost\`)
      service: s
      observability:
        accessLogs: false
        metrics: false
    plain:
      rule: Host(\`plain.localhost\`)
      service: s
  services:
    s:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9
`;
  const portierYaml = `entryPoints:
  web:
    address: 127.0.0.1:0
providers:
  file:
    filename: dynamic.yaml
    watch: false
`;
  const { portier } = await startPortierFromFiles(t, { 'portier.yaml': portierYaml, 'dynamic.yaml': dynamic });
  const routers = portier.gateway.table.routers;
  const cases = [
    { name: 'quiet@file', status: 'warning', warnings: [/dynamic\.yaml:6: http\.routers\.quiet\.observability: per-router observability is not supported, ignored$/] },
    { name: 'plain@file', status: 'enabled', warnings: [] },
  ];
  for (const c of cases) {
    const r = routers.get(c.name);
    t.equal(r?.status, c.status, `${c.name}: status ${c.status} (a warning does not disable it)`);
    t.match(r?.warnings, c.warnings, `${c.name}: warnings, each at its file:line`);
    t.equal(r?.warnings.length, c.warnings.length, `${c.name}: no other warning`);
  }
});
