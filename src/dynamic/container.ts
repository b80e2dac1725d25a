/**
 * What a label provider (docker, swarm, runtime) knows of one running
 * container, replica or task: the input of the shared label parser
 * (`labels.ts`), independent of the engine it came from.
 */
export interface ContainerInfo {
  id: string;
  /** Container name without the leading `/` (Traefik's `.ContainerName`). */
  name: string;
  labels: Record<string, string>;
  /** Address the gateway dials: 127.0.0.1 for host-network containers and runtime replicas. */
  address: string;
  /** Exposed ports, ascending. The runtime core gives each replica one: its PORT. */
  ports: number[];
  /** running and, if it has a health check, healthy. */
  ready: boolean;
  /** Health as the engine reports it, when it has a health check. */
  health?: 'starting' | 'healthy' | 'unhealthy';
}

export interface LabelOptions {
  /** Label prefixes read, in order of precedence: default ['portier', 'traefik']. */
  prefixes: string[];
  /** A container without `<prefix>.enable` is routed when true. */
  exposedByDefault: boolean;
  /**
   * Default rule template. Portier's placeholders `{service}`, `{project}`,
   * `{name}` and Traefik's Go-template forms (`{{ normalize .Name }}`,
   * `{{ index .Labels "k" }}`) are both accepted. Unset: Portier's dev
   * defaults, `Host(`{service}.{project}.localhost`)` for a compose
   * container and `Host(`{name}.localhost`)` for a plain one.
   */
  defaultRule?: string;
  /** Traefik constraint expression over labels (`Label(`k`,`v`) && !LabelRegex(...)`). */
  constraints?: string;
  /** Network to use when a container is on several (docker only). */
  network?: string;
}
