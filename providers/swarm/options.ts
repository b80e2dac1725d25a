import { duration, object, withDefault } from '../../src/config/decode';
import { engineFields } from '../docker/options';

/**
 * `providers.swarm`: the docker provider's options plus `refreshSeconds`,
 * the period of the full re-list (Traefik's default 15 s). Events of
 * services, nodes and local task containers trigger re-lists in between.
 */
export const decodeSwarmOptions = object({
  ...engineFields,
  refreshSeconds: withDefault(duration, 15_000),
});
export type SwarmOptions = ReturnType<typeof decodeSwarmOptions>;
