import t from 'tap';
import { execFileSync } from 'node:child_process';
import bcrypt from 'bcryptjs';
import { hashKind, parseEntry, verifyPassword } from '../../../middlewares/lib/htpasswd';

// Hashes made by other tools where the machine has them (openssl), so the verifier is checked against independent implementations.
const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' }).trim();
const sha1 = `{SHA}${execFileSync('openssl', ['dgst', '-sha1', '-binary'], { input: 'secret' }).toString('base64')}`;
const apr1 = openssl('passwd', '-apr1', '-salt', 'abcdefgh', 'secret');
const bcryptY = bcrypt.hashSync('secret', 4).replace(/^\$2b\$/, '$2y$');

t.test('verifies every supported htpasswd hash', async (t) => {
  const cases = [
    { hash: sha1, kind: 'sha1', password: 'secret', ok: true },
    { hash: sha1, kind: 'sha1', password: 'Secret', ok: false },
    { hash: apr1, kind: 'apr1', password: 'secret', ok: true },
    { hash: apr1, kind: 'apr1', password: 'secret ', ok: false },
    { hash: bcryptY, kind: 'bcrypt', password: 'secret', ok: true },
    { hash: bcryptY.replace(/^\$2y\$/, '$2a$'), kind: 'bcrypt', password: 'secret', ok: true },
    { hash: bcryptY, kind: 'bcrypt', password: 'wrong', ok: false },
  ];
  for (const c of cases) {
    t.equal(hashKind(c.hash), c.kind, `${c.hash.slice(0, 8)}… is ${c.kind}`);
    t.equal(await verifyPassword(c.password, c.hash), c.ok, `${c.kind} with ${JSON.stringify(c.password)}`);
  }
});

t.test('rejects entries it cannot verify, without echoing the hash', async (t) => {
  const cases = [
    { line: 'nocolon', error: /users\[0\]: expected user:hash/ },
    { line: ':{SHA}x', error: /expected user:hash/ },
    { line: 'bob:plaintext', error: /user "bob": unsupported password hash/ },
    { line: 'bob:$1$abc$defghijklmnopqrstuvwxy', error: /user "bob": unsupported password hash/ },
  ];
  for (const c of cases) {
    t.throws(() => parseEntry(c.line, 'users[0]'), c.error, c.line);
    try {
      parseEntry(c.line, 'users[0]');
    } catch (err) {
      const secret = c.line.slice(c.line.indexOf(':') + 1);
      if (secret.length > 0 && c.line.includes(':')) t.notMatch((err as Error).message, secret, 'hash not in the message');
    }
  }
});
