import t from 'tap';
import { tasksToContainers, type SwarmService, type SwarmTask } from '../../providers/swarm/tasks';
import { configFromContainers } from '../../src/dynamic/labels';

/** Swarm services and tasks → label-parser input → config, as the swarm provider builds it. */
const hostNet = [{ Network: { ID: 'h', Spec: { Name: 'host', Scope: 'swarm' } }, Addresses: [] }];
const overlay = (addr: string) => [
  { Network: { ID: 'i', Spec: { Name: 'ingress', Scope: 'swarm' } }, Addresses: ['10.0.0.9/24'] },
  { Network: { ID: 'o', Spec: { Name: 'backend', Scope: 'swarm' } }, Addresses: [addr] },
];
const task = (id: string, slot: number, state: string, nets: SwarmTask['NetworksAttachments'], svc = 'S1'): SwarmTask => ({
  ID: id, ServiceID: svc, Slot: slot, NodeID: 'n1', DesiredState: 'running', Status: { State: state }, NetworksAttachments: nets,
});
const service = (labels: Record<string, string>, extra: Partial<SwarmService> = {}): SwarmService => ({ ID: 'S1', Spec: { Name: 'web', Labels: labels }, ...extra });

interface Case {
  name: string;
  services: SwarmService[];
  tasks: SwarmTask[];
  servers: string[];
  errors?: RegExp;
  warnings?: RegExp;
}

const cases: Case[] = [
  {
    name: 'host-network tasks, port per slot from the label placeholder',
    services: [service({ 'traefik.http.services.web.loadbalancer.server.port': '1809{{.Task.Slot}}' })],
    tasks: [task('t2', 2, 'running', hostNet), task('t1', 1, 'running', hostNet)],
    servers: ['http://127.0.0.1:18091', 'http://127.0.0.1:18092'],
  },
  {
    name: 'overlay task addresses, ingress skipped',
    services: [service({ 'traefik.http.services.web.loadbalancer.server.port': '80' })],
    tasks: [task('t1', 1, 'running', overlay('10.1.0.5/24')), task('t2', 2, 'running', overlay('10.1.0.6/24'))],
    servers: ['http://10.1.0.5:80', 'http://10.1.0.6:80'],
  },
  {
    name: 'only running tasks are servers',
    services: [service({ 'traefik.http.services.web.loadbalancer.server.port': '80' })],
    tasks: [task('t1', 1, 'starting', hostNet), task('t2', 2, 'running', hostNet)],
    servers: ['http://127.0.0.1:80'],
  },
  {
    name: 'lbswarm: one server, the service VIP on the chosen network',
    services: [service(
      { 'traefik.swarm.lbswarm': 'true', 'traefik.swarm.network': 'backend', 'traefik.http.services.web.loadbalancer.server.port': '8080' },
      { Endpoint: { VirtualIPs: [{ NetworkID: 'i', Addr: '10.0.0.2/24' }, { NetworkID: 'o', Addr: '10.1.0.2/24' }] } },
    )],
    tasks: [task('t1', 1, 'running', overlay('10.1.0.5/24')), task('t2', 2, 'running', overlay('10.1.0.6/24'))],
    servers: ['http://10.1.0.2:8080'],
  },
  {
    name: 'no port label and no published port: service error',
    services: [service({})],
    tasks: [task('t1', 1, 'running', hostNet)],
    servers: [],
    errors: /exposes no port/,
  },
  {
    name: 'a task without any usable address is reported',
    services: [service({ 'traefik.http.services.web.loadbalancer.server.port': '80' })],
    tasks: [task('t1', 1, 'running', [])],
    servers: [],
    warnings: /no address on a swarm network/,
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const m = tasksToContainers(c.services, c.tasks, { prefixes: ['portier', 'traefik'], networkNames: new Map([['i', 'ingress'], ['o', 'backend']]) });
    const r = configFromContainers(m.containers, { prefixes: ['portier', 'traefik'], exposedByDefault: true });
    const svc = r.config.http?.services?.web?.loadBalancer;
    t.same((svc?.servers ?? []).map((s) => s.url).sort(), c.servers);
    t.equal(r.config.http?.routers?.web?.rule, 'Host(`web.localhost`)', 'default router named after the service');
    if (c.errors) t.match(JSON.stringify(r.errors), c.errors);
    else t.same(r.errors, {});
    if (c.warnings) t.match(JSON.stringify(m.warnings), c.warnings);
  });
}
