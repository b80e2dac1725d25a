import { boolean, list, object, optional, string, withDefault } from '../src/config/decode';
import { configError } from '../src/errors';
import { defineMiddleware } from './types';
import { htpasswdEntry, parseEntry, verifyPassword } from './lib/htpasswd';
import { respond } from './lib/respond';
import { loadUsers } from './lib/users';
import { holdRequestBody } from './lib/hold';

const options = object({
  users: withDefault(list(htpasswdEntry), [] as string[]),
  usersFile: optional(string),
  realm: withDefault(string, 'traefik'),
  removeHeader: withDefault(boolean, false),
  headerField: optional(string),
});

/** HTTP Basic authentication against htpasswd entries (bcrypt, {SHA}, $apr1$). */
export default defineMiddleware({
  type: 'basicAuth',
  plain: true,
  options,
  create(opts) {
    const users = loadUsers(opts.users, opts.usersFile, parseEntry);
    if (users.size === 0) throw configError('users', 'no users given (set users or usersFile)', 'CONFIG_MISSING');
    const challenge = `Basic realm="${opts.realm.replace(/"/g, '')}"`;
    const userHeader = opts.headerField?.toLowerCase();
    return (next) => async (ex) => {
      holdRequestBody(ex);
      const credentials = parseBasic(ex.req.headers.authorization);
      const entry = credentials && users.get(credentials.user);
      if (!credentials || !entry || !(await verifyPassword(credentials.password, entry.hash))) {
        return respond(ex, 401, { 'www-authenticate': challenge }, '401 Unauthorized\n');
      }
      if (opts.removeHeader) delete ex.req.headers.authorization;
      if (userHeader) ex.req.headers[userHeader] = credentials.user;
      await next(ex);
    };
  },
});

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const at = decoded.indexOf(':');
  return at < 0 ? undefined : { user: decoded.slice(0, at), password: decoded.slice(at + 1) };
}
