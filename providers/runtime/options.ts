import { boolean, duration, list, object, optional, string, withDefault, Decoder } from '../../src/config/decode';

/**
 * `providers.runtime`: the embedded engine. `stacks` are brought up when
 * Portier starts (relative paths resolve against the config file's folder);
 * more can be added at any time with `portier up`.
 */
export const decodeRuntimeOptions = object({
  stacks: withDefault(list(string), []),
  /** Engine socket; default /run/portier/engine.sock as root, else under $XDG_RUNTIME_DIR. */
  socket: optional(string),
  exposedByDefault: withDefault(boolean, true),
  defaultRule: optional(string),
  constraints: optional(string),
  prefixes: optional(list(string)),
  /** How long a stopping replica stays out of the table, still running, before it is signalled. */
  drainDelay: withDefault(duration, 300),
});

export type RuntimeOptions = typeof decodeRuntimeOptions extends Decoder<infer T> ? T : never;
