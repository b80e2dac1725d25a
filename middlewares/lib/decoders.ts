import { configError } from '../../src/errors';
import type { Decoder } from '../../src/config/decode';

/** Adds a check to a decoder; the message names the option's path. */
export function check<T>(d: Decoder<T>, ok: (v: T) => boolean, message: string): Decoder<T> {
  return (raw, path) => {
    const v = d(raw, path);
    if (v !== undefined && !ok(v)) throw configError(path, message);
    return v;
  };
}
