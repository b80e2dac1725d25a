import t from 'tap';
import type Dockerode from 'dockerode';
import { toContainerInfo, type AddressContext } from '../../providers/docker/container-info';

/** Inspected containers → label-parser input: address choice, ports, readiness. */
function inspect(o: {
  name?: string; mode?: string; nets?: Record<string, string>; labels?: Record<string, string>;
  exposed?: string[]; published?: string[]; running?: boolean; paused?: boolean; health?: string; id?: string;
}): Dockerode.ContainerInspectInfo {
  return {
    Id: o.id ?? 'c0ffee',
    Name: `/${o.name ?? 'app'}`,
    Config: { Labels: o.labels ?? {}, ExposedPorts: Object.fromEntries((o.exposed ?? []).map((p) => [p, {}])) },
    HostConfig: { NetworkMode: o.mode ?? 'default' },
    State: { Running: o.running ?? true, Paused: o.paused ?? false, Restarting: false, ...(o.health ? { Health: { Status: o.health } } : {}) },
    NetworkSettings: {
      Ports: Object.fromEntries((o.published ?? []).map((p) => [p, null])),
      Networks: Object.fromEntries(Object.entries(o.nets ?? {}).map(([n, ip]) => [n, { IPAddress: ip }])),
    },
  } as unknown as Dockerode.ContainerInspectInfo;
}

const ctx = (extra: Partial<AddressContext> = {}): AddressContext => ({ prefixes: ['portier', 'traefik'], selfNetworks: new Set(), byId: new Map(), ...extra });
const other = inspect({ id: 'beef00', name: 'db', nets: { back: '10.9.0.3' } });

const cases: { name: string; c: Dockerode.ContainerInspectInfo; ctx?: AddressContext; want: object; warning?: RegExp }[] = [
  { name: 'host network → 127.0.0.1', c: inspect({ mode: 'host', exposed: ['8080/tcp'] }), want: { address: '127.0.0.1', ports: [8080], ready: true } },
  { name: 'first network by name', c: inspect({ nets: { zeta: '10.0.2.2', alpha: '10.0.1.2' } }), want: { address: '10.0.1.2' } },
  { name: 'network label wins', c: inspect({ nets: { alpha: '10.0.1.2', proxy: '10.0.3.2' }, labels: { 'traefik.docker.network': 'proxy' } }), want: { address: '10.0.3.2' } },
  { name: 'compose-prefixed network name matches', c: inspect({ nets: { alpha: '10.0.1.2', shop_proxy: '10.0.3.2' }, labels: { 'portier.docker.network': 'proxy' } }), want: { address: '10.0.3.2' } },
  { name: 'provider network option', c: inspect({ nets: { alpha: '10.0.1.2', proxy: '10.0.3.2' } }), ctx: ctx({ network: 'proxy' }), want: { address: '10.0.3.2' } },
  { name: 'missing network warns and falls back', c: inspect({ nets: { alpha: '10.0.1.2' }, labels: { 'traefik.docker.network': 'nope' } }), want: { address: '10.0.1.2' }, warning: /network nope not found/ },
  { name: 'a network shared with Portier', c: inspect({ nets: { alpha: '10.0.1.2', edge: '10.0.4.2' } }), ctx: ctx({ selfNetworks: new Set(['edge']) }), want: { address: '10.0.4.2' } },
  { name: 'container: network mode uses the other container', c: inspect({ mode: 'container:beef00' }), ctx: ctx({ byId: new Map([['beef00', other]]) }), want: { address: '10.9.0.3' } },
  { name: 'no address: not ready, warned', c: inspect({ nets: {} }), want: { address: '', ready: false }, warning: /no IP address/ },
  { name: 'ports: exposed and published, tcp only, ascending', c: inspect({ mode: 'host', exposed: ['9000/tcp', '53/udp'], published: ['80/tcp'] }), want: { ports: [80, 9000] } },
  { name: 'health starting → not ready', c: inspect({ mode: 'host', health: 'starting' }), want: { ready: false, health: 'starting' } },
  { name: 'health unhealthy → not ready', c: inspect({ mode: 'host', health: 'unhealthy' }), want: { ready: false, health: 'unhealthy' } },
  { name: 'healthy → ready', c: inspect({ mode: 'host', health: 'healthy' }), want: { ready: true, health: 'healthy' } },
  { name: 'paused → not ready', c: inspect({ mode: 'host', paused: true }), want: { ready: false } },
  { name: 'name without the slash', c: inspect({ name: 'shop_web_1', mode: 'host' }), want: { name: 'shop_web_1' } },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const m = toContainerInfo(c.c, c.ctx ?? ctx());
    t.match(m.info, c.want);
    if (c.warning) t.match(m.warning, c.warning);
    else t.equal(m.warning, undefined, 'no warning');
  });
}
