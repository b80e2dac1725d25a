import { timingSafeEqual } from 'node:crypto';
import { boolean, list, object, optional, string, withDefault } from '../src/config/decode';
import type { Decoder } from '../src/config/decode';
import { configError } from '../src/errors';
import { defineMiddleware } from './types';
import { md5, NonceBook, parseDigestEntry, parseDigestHeader } from './lib/digest';
import type { DigestEntry } from './lib/digest';
import { respond } from './lib/respond';
import { loadUsers } from './lib/users';

const digestEntry: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  parseDigestEntry(s, path);
  return s;
};

const options = object({
  users: withDefault(list(digestEntry), [] as string[]),
  usersFile: optional(string),
  realm: withDefault(string, 'traefik'),
  removeHeader: withDefault(boolean, false),
  headerField: optional(string),
});

/** HTTP Digest authentication (MD5, qop=auth) against `htdigest` entries. */
export default defineMiddleware({
  type: 'digestAuth',
  plain: true,
  options,
  create(opts) {
    const entries = loadUsers(opts.users, opts.usersFile, parseDigestEntry);
    const users = new Map<string, DigestEntry>();
    for (const e of entries.values()) if (e.realm === opts.realm) users.set(e.user, e);
    if (users.size === 0) throw configError('users', `no users for realm ${JSON.stringify(opts.realm)} (set users or usersFile)`, 'CONFIG_MISSING');
    const nonces = new NonceBook();
    const realm = opts.realm.replace(/"/g, '');
    const userHeader = opts.headerField?.toLowerCase();
    const challenge = (stale: boolean): string =>
      `Digest realm="${realm}", nonce="${nonces.issue()}", opaque="${md5(realm)}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;

    return (next) => async (ex) => {
      const d = parseDigestHeader(ex.req.headers.authorization);
      const entry = d?.username !== undefined ? users.get(d.username) : undefined;
      let verdict: 'ok' | 'stale' | 'bad' = 'bad';
      if (d && entry && d.realm === opts.realm && d.uri === ex.req.url && d.response !== undefined && d.nonce !== undefined) {
        const ha2 = md5(`${ex.req.method ?? 'GET'}:${d.uri}`);
        const expected = d.qop === 'auth' ? md5(`${entry.ha1}:${d.nonce}:${d.nc}:${d.cnonce}:auth:${ha2}`) : md5(`${entry.ha1}:${d.nonce}:${ha2}`);
        const given = Buffer.from(d.response.toLowerCase());
        if (given.length === expected.length && timingSafeEqual(given, Buffer.from(expected))) {
          verdict = nonces.check(d.nonce, d.qop === 'auth' ? d.nc : undefined);
        }
      }
      if (verdict !== 'ok') return respond(ex, 401, { 'www-authenticate': challenge(verdict === 'stale') }, '401 Unauthorized\n');
      if (opts.removeHeader) delete ex.req.headers.authorization;
      if (userHeader) ex.req.headers[userHeader] = d!.username;
      await next(ex);
    };
  },
});
