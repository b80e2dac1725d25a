import type { StaticConfig } from '../config/static';

/** The longest `graceTimeOut` of the entrypoints: how long a drain of the workers may take. */
export function graceMs(config: StaticConfig): number {
  return Math.max(0, ...Object.values(config.entryPoints).map((e) => e.transport.lifeCycle.graceTimeOut));
}
