import type { Test } from 'tap';
import { startPortierFromFiles } from '../helpers/portier';
import { request } from '../helpers/http';

/**
 * A whole Portier reading one KV provider (`etcd` or `redis`, its section
 * given as YAML), and what a user sees of it: the backend a Host reaches
 * through the web entrypoint, and a router's status and errors in the API.
 */
export interface KvGateway {
  /** The backend's name that answered (`x-backend`), or the status when none did. */
  reach(host: string): Promise<string>;
  router(name: string): Promise<{ status?: string; error?: string[] }>;
  /** Configuration reloads so far (what portier_config_reloads_total counts). */
  reloads(): number;
  close(): Promise<void>;
}

export async function startKvGateway(t: Test, providerYaml: string): Promise<KvGateway> {
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': `entryPoints:
  web:
    address: 127.0.0.1:0
  traefik:
    address: 127.0.0.1:0
api: {}
log:
  level: error
providers:
  providersThrottleDuration: 5ms
${providerYaml}
dataDir: ./data
`,
  });
  const web = `http://127.0.0.1:${portier.gateway.port('web')}`;
  const api = `http://127.0.0.1:${portier.gateway.port('traefik')}`;
  return {
    async reach(host) {
      const r = await request(`${web}/`, { host, timeoutMs: 3000 });
      return r.status === 200 ? String(r.headers['x-backend']) : String(r.status);
    },
    async router(name) {
      const r = await request(`${api}/api/http/routers/${name}`, { timeoutMs: 3000 });
      return r.status === 200 ? (JSON.parse(r.body) as { status?: string; error?: string[] }) : {};
    },
    reloads: () => portier.gateway.reloads.total,
    close: () => portier.close(100),
  };
}

/** The keys of one router `<name>` for `Host(<name>.localhost)` and its service to `url`. */
export function routeKeys(root: string, name: string, url: string): [string, string][] {
  return [
    [`${root}/http/routers/${name}/rule`, `Host(\`${name}.localhost\`)`],
    [`${root}/http/routers/${name}/service`, name],
    [`${root}/http/routers/${name}/entrypoints/0`, 'web'],
    [`${root}/http/services/${name}/loadbalancer/servers/0/url`, url],
  ];
}
