/**
 * The runtime core's public surface. Hosting the engine in-process:
 *
 *   const engine = new Engine({ logger });
 *   const api = new EngineApiServer(engine, { socketPath: engineSocketPath(flag), logger });
 *   await api.listen();
 *   gatewayProviders.push(new RuntimeProvider(engine));   // providers/runtime
 *   await engine.up('examples/stacks/shop/stack.yml');
 *   // on SIGTERM/SIGINT: await api.close(); await engine.close();
 */
export { Engine, type EngineOptions, type UpOptions, type ProjectSummary } from './engine';
export { EngineApiServer, type ApiServerOptions } from './api-server';
export { runEngineCommand, type CliIO } from './cli';
export { engineSocketPath } from './socket-path';
export { loadStackFile, parseStack, type StackSpec, type ServiceSpec } from './stack';
export type { Replica, ReplicaState, HealthStatus } from './replica';
export type { DockerEvent } from './events';
