import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import bcrypt from 'bcryptjs';
import { middlewareBench } from './middleware-fixtures';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const apr1 = execFileSync('openssl', ['passwd', '-apr1', 'filepass'], { encoding: 'utf8' }).trim();
const sha1 = `{SHA}${execFileSync('openssl', ['dgst', '-sha1', '-binary'], { input: 'shapass' }).toString('base64')}`;
const bcryptHash = bcrypt.hashSync('bpass', 4).replace(/^\$2b\$/, '$2y$');

t.test('basicAuth: users inline and from a file, realm, removeHeader, headerField', async (t) => {
  const dir = t.testdir({});
  const usersFile = join(dir, 'htpasswd');
  writeFileSync(usersFile, `# team\nfileuser:${apr1}\n\n`);
  const bench = await middlewareBench(
    t,
    {
      auth: { basicAuth: { users: [`bob:${bcryptHash}`, `sha:${sha1}`], usersFile, realm: 'shop', headerField: 'X-WebAuth-User' } },
      strip: { basicAuth: { users: `bob:${bcryptHash}`, removeHeader: 'true' } },
    },
    { auth: ['auth'], strip: ['strip'] },
  );
  const cases = [
    { router: 'auth', auth: undefined, status: 401, user: undefined },
    { router: 'auth', auth: basic('bob', 'nope'), status: 401, user: undefined },
    { router: 'auth', auth: basic('nobody', 'bpass'), status: 401, user: undefined },
    { router: 'auth', auth: 'Bearer abc', status: 401, user: undefined },
    { router: 'auth', auth: basic('bob', 'bpass'), status: 200, user: 'bob' },
    { router: 'auth', auth: basic('sha', 'shapass'), status: 200, user: 'sha' },
    { router: 'auth', auth: basic('fileuser', 'filepass'), status: 200, user: 'fileuser' },
    { router: 'strip', auth: basic('bob', 'bpass'), status: 200, user: undefined },
  ];
  for (const c of cases) {
    const reply = await bench.send(c.router, '/x', { headers: c.auth ? { authorization: c.auth } : {} });
    const what = `${c.router} ${c.auth ?? 'no credentials'}`;
    t.equal(reply.status, c.status, `${what}: status`);
    if (c.status === 401) {
      t.equal(reply.headers['www-authenticate'], `Basic realm="${c.router === 'auth' ? 'shop' : 'traefik'}"`, `${what}: challenge`);
      t.equal(bench.echoed(reply), undefined, `${what}: not forwarded`);
      continue;
    }
    const seen = bench.echoed(reply);
    t.equal(seen?.headers['x-webauth-user'], c.user, `${what}: user header`);
    t.equal(seen?.headers.authorization, c.router === 'strip' ? undefined : c.auth, `${what}: authorization forwarded unless removeHeader`);
  }
  const body = 'x'.repeat(200_000);
  const post = await bench.send('auth', '/upload', { method: 'POST', body, headers: { authorization: basic('bob', 'bpass') } });
  t.equal(bench.echoed(post)?.body.length, body.length, 'a request body survives the asynchronous password check');
});

t.test('basicAuth configuration errors name the option', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      nousers: { basicAuth: { realm: 'x' } },
      badhash: { basicAuth: { users: ['alice:plain'] } },
      nofile: { basicAuth: { usersFile: '/nonexistent/htpasswd' } },
    },
    { nousers: ['nousers'], badhash: ['badhash'], nofile: ['nofile'] },
  );
  const cases = [
    { router: 'nousers', error: /users: no users given/ },
    { router: 'badhash', error: /basicAuth\.users\[0\]: user "alice": unsupported password hash/ },
    { router: 'nofile', error: /usersFile: cannot read \/nonexistent\/htpasswd/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
