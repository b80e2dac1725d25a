import { boolean, duration, list, object, optional, string, withDefault, type Decoder } from '../../src/config/decode';
import { parseConstraints } from '../../src/dynamic/constraints';
import type { LabelOptions } from '../../src/dynamic/container';
import { PortierError } from '../../src/errors';

/**
 * Options shared by the docker and swarm providers, in Traefik's names
 * (`providers.docker.*`). Constraints are compiled here so that a typo is a
 * start-up error naming the option, not a silently empty gateway.
 */
const constraints: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  parseConstraints(s, path);
  return s;
};

const endpointUrl: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  if (!/^(unix|tcp|http|https):\/\//i.test(s)) {
    throw new PortierError('CONFIG_INVALID', `expected unix://, tcp://, http:// or https:// endpoint, got ${JSON.stringify(s)}`, { path });
  }
  return s;
};

export const engineFields = {
  /** Unset: DOCKER_HOST, else unix:///var/run/docker.sock. */
  endpoint: optional(endpointUrl),
  /** Client certificate paths for tcp+TLS; DOCKER_CERT_PATH is used when these are unset. */
  tls: optional(object({ ca: optional(string), cert: optional(string), key: optional(string) })),
  exposedByDefault: withDefault(boolean, true),
  defaultRule: optional(string),
  constraints: optional(constraints),
  network: optional(string),
  prefixes: withDefault(list(string), ['portier', 'traefik']),
  watch: withDefault(boolean, true),
  /** Bursts of events within this window cause one re-list (ms). */
  throttle: withDefault(duration, 100),
};

export const decodeDockerOptions = object(engineFields);
export type DockerOptions = ReturnType<typeof decodeDockerOptions>;

export function labelOptions(o: Pick<DockerOptions, 'prefixes' | 'exposedByDefault' | 'defaultRule' | 'constraints' | 'network'>): LabelOptions {
  return { prefixes: o.prefixes, exposedByDefault: o.exposedByDefault, defaultRule: o.defaultRule, constraints: o.constraints, network: o.network };
}
