import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KvClientTls } from '../../src/config/kv-options';
import { configError } from '../../src/errors';
import type { ClientTlsOptions } from '../../src/kv/etcd-client';

export type { ClientTlsOptions };

/**
 * The `tls` section of a KV provider as Node's TLS options: the files are
 * read once, when the provider is built, so that a missing one is a start-up
 * error naming the option rather than a reconnection loop. Without `ca` the
 * system's CAs are trusted, as in Traefik.
 */
export function clientTlsOptions(tls: KvClientTls, baseDir: string, path: string): ClientTlsOptions {
  const read = (key: 'ca' | 'cert' | 'key'): Buffer | undefined => {
    const file = tls[key];
    if (file === undefined) return undefined;
    try {
      return readFileSync(resolve(baseDir, file));
    } catch (err) {
      throw configError(`${path}.tls.${key}`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key'), rejectUnauthorized: !tls.insecureSkipVerify };
}
