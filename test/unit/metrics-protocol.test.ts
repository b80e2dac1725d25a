import t from 'tap';
import { createMetrics } from '../../src/metrics/prometheus';
import { RoutingTable } from '../../src/routing/table';
import type { RequestRecord } from '../../src/server/observer';

/** Traefik's `protocol` label on request metrics: websocket, sse, grpc (any application/grpc… type), else http. */
const cases: { name: string; headers: Record<string, string>; upgrade?: boolean; protocol: string }[] = [
  { name: 'a plain request', headers: {}, protocol: 'http' },
  { name: 'gRPC', headers: { 'content-type': 'application/grpc' }, protocol: 'grpc' },
  { name: 'gRPC with a subtype', headers: { 'content-type': 'application/grpc+proto' }, protocol: 'grpc' },
  { name: 'gRPC-Web (Traefik counts it as gRPC)', headers: { 'content-type': 'application/grpc-web-text' }, protocol: 'grpc' },
  { name: 'an event stream', headers: { accept: 'text/event-stream' }, protocol: 'sse' },
  { name: 'a WebSocket', headers: {}, upgrade: true, protocol: 'websocket' },
  { name: 'JSON', headers: { 'content-type': 'application/json' }, protocol: 'http' },
];

t.plan(cases.length);
for (const c of cases) {
  t.test(c.name, async (t) => {
    const m = createMetrics({
      prefix: 'portier', buckets: [1], addEntryPointsLabels: true, addRoutersLabels: false, addServicesLabels: false,
      table: () => new RoutingTable(new Map(), new Map(), new Map(), { web: false }), reloads: () => ({ total: 0, lastSuccess: true, lastAt: 0 }), processMetrics: false,
    });
    const record = {
      ex: { entryPoint: 'web', retryAttempts: 0, req: { method: 'POST', headers: c.headers }, ...(c.upgrade ? { upgrade: {} } : {}) },
      status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1, aborted: false,
    } as unknown as RequestRecord;
    m.observer.requestEnded(record);
    t.match(await m.registry.metrics(), new RegExp(`^portier_entrypoint_requests_total\\{code="200",method="POST",protocol="${c.protocol}",entrypoint="web"\\} 1$`, 'm'));
  });
}
