import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import aprMd5 from 'apache-md5';
import { configError } from '../../src/errors';
import type { Decoder } from '../../src/config/decode';
import { string } from '../../src/config/decode';

/** The htpasswd hash formats Apache's `htpasswd` writes and Traefik accepts. */
export type HashKind = 'bcrypt' | 'sha1' | 'apr1';

export function hashKind(hash: string): HashKind | undefined {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  return undefined;
}

export interface HtpasswdEntry {
  user: string;
  hash: string;
}

/** Parses one `user:hash` line; the error names the user, never the hash. */
export function parseEntry(line: string, path: string): HtpasswdEntry {
  const at = line.indexOf(':');
  if (at <= 0) throw configError(path, 'expected user:hash');
  const user = line.slice(0, at);
  const hash = line.slice(at + 1).trim();
  if (hashKind(hash) === undefined) {
    throw configError(path, `user ${JSON.stringify(user)}: unsupported password hash (use bcrypt, {SHA} or $apr1$, as htpasswd -B, -s or -m write)`);
  }
  return { user, hash };
}

export const htpasswdEntry: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  parseEntry(s, path);
  return s;
};

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Checks a password against an htpasswd hash; bcrypt runs off the event loop's hot path via its async API. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  switch (hashKind(hash)) {
    case 'bcrypt':
      return bcrypt.compare(password, hash);
    case 'sha1':
      return same(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
    case 'apr1':
      return same(aprMd5(password, hash), hash);
    default:
      return false;
  }
}
