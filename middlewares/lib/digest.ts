import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { configError } from '../../src/errors';

/** One `user:realm:HA1` line, as `htdigest` writes it (HA1 = md5(user:realm:password)). */
export interface DigestEntry {
  user: string;
  realm: string;
  ha1: string;
}

export function parseDigestEntry(line: string, path: string): DigestEntry {
  const parts = line.trim().split(':');
  if (parts.length !== 3 || parts[0] === '') throw configError(path, 'expected user:realm:hash');
  const [user, realm, ha1] = parts;
  if (!/^[0-9a-f]{32}$/i.test(ha1)) throw configError(path, `user ${JSON.stringify(user)}: expected an MD5 hex digest (as htdigest writes)`);
  return { user, realm, ha1: ha1.toLowerCase() };
}

export const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** The fields of an `Authorization: Digest …` header, or undefined when it is not one. */
export function parseDigestHeader(header: string | undefined): Record<string, string> | undefined {
  if (header === undefined || !/^Digest\s/i.test(header)) return undefined;
  const out: Record<string, string> = {};
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gi;
  for (let m = re.exec(header.slice(7)); m; m = re.exec(header.slice(7))) out[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  return out;
}

const NONCE_TTL_MS = 5 * 60_000;
const MAX_TRACKED_NONCES = 10_000;

/**
 * Nonces that need no server-side list to be checked: a timestamp signed
 * with a per-middleware key, valid for five minutes. The request counters
 * (`nc`) seen for each nonce are remembered (boundedly) so that a captured
 * response cannot be replayed.
 */
export class NonceBook {
  private readonly key = randomBytes(32);
  private readonly counters = new Map<string, number>();

  issue(now = Date.now()): string {
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(BigInt(now));
    return Buffer.concat([stamp, this.sign(stamp)]).toString('base64url');
  }

  /** 'ok', 'stale' (well-formed but expired: the client may retry silently) or 'bad'. */
  check(nonce: string, nc: string | undefined, now = Date.now()): 'ok' | 'stale' | 'bad' {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 40) return 'bad';
    const stamp = raw.subarray(0, 8);
    if (!timingSafeEqual(raw.subarray(8), this.sign(stamp))) return 'bad';
    if (now - Number(stamp.readBigUInt64BE()) > NONCE_TTL_MS) return 'stale';
    if (nc === undefined) return 'ok';
    const count = parseInt(nc, 16);
    if (!Number.isFinite(count) || count <= (this.counters.get(nonce) ?? 0)) return 'bad';
    this.counters.delete(nonce);
    this.counters.set(nonce, count);
    if (this.counters.size > MAX_TRACKED_NONCES) this.counters.delete(this.counters.keys().next().value as string);
    return 'ok';
  }

  private sign(stamp: Buffer): Buffer {
    return createHmac('sha256', this.key).update(stamp).digest();
  }
}
