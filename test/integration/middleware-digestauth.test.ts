import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { middlewareBench } from './middleware-fixtures';

const ha1 = (user: string, realm: string, password: string): string => createHash('md5').update(`${user}:${realm}:${password}`).digest('hex');

/** curl is the independent Digest client: it answers the challenge itself. */
function curlDigest(url: string, host: string, user: string, password: string): Promise<{ status: number; body: string; authorization?: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-sS', '-v', '--max-time', '10', '--digest', '-u', `${user}:${password}`, '-H', `Host: ${host}`, '-w', '\n%{http_code}', url],
      (err, stdout, stderr) => {
        if (err) return reject(err);
        const lines = stdout.split('\n');
        const status = Number(lines.pop());
        const auth = /^> Authorization: (Digest .*)\r?$/m.exec(stderr);
        resolve({ status, body: lines.join('\n'), authorization: auth?.[1].trim() });
      },
    );
  });
}

t.test('digestAuth with curl as the client', async (t) => {
  const dir = t.testdir({});
  const usersFile = join(dir, 'htdigest');
  writeFileSync(usersFile, `bob:shop:${ha1('bob', 'shop', 'bobpass')}\nother:elsewhere:${ha1('other', 'elsewhere', 'x')}\n`);
  const bench = await middlewareBench(
    t,
    {
      d: { digestAuth: { users: [`alice:shop:${ha1('alice', 'shop', 'secret')}`], usersFile, realm: 'shop', headerField: 'X-WebAuth-User', removeHeader: true } },
    },
    { d: ['d'] },
  );
  const url = `${bench.gw.url}/private?x=1`;
  const cases = [
    { user: 'alice', password: 'secret', status: 200 },
    { user: 'bob', password: 'bobpass', status: 200 },
    { user: 'alice', password: 'wrong', status: 401 },
    { user: 'other', password: 'x', status: 401 },
    { user: 'nobody', password: 'secret', status: 401 },
  ];
  for (const c of cases) {
    const reply = await curlDigest(url, 'd.test', c.user, c.password);
    t.equal(reply.status, c.status, `${c.user}/${c.password}: status`);
    if (c.status !== 200) continue;
    const seen = JSON.parse(reply.body) as { headers: Record<string, string> };
    t.equal(seen.headers['x-webauth-user'], c.user, `${c.user}: user header upstream`);
    t.equal(seen.headers.authorization, undefined, `${c.user}: credentials removed`);
  }

  const challenge = await bench.send('d', '/private');
  t.equal(challenge.status, 401, 'no credentials: 401');
  t.match(challenge.headers['www-authenticate'], /^Digest realm="shop", nonce="[\w-]+", opaque="[0-9a-f]{32}", algorithm=MD5, qop="auth"$/, 'challenge');

  const ok = await curlDigest(url, 'd.test', 'alice', 'secret');
  t.ok(ok.authorization, 'curl sent a Digest answer');
  const replayed = await bench.send('d', '/private?x=1', { headers: { authorization: ok.authorization } });
  t.equal(replayed.status, 401, 'a replayed answer (same nonce count) is refused');
});

t.test('invalid digestAuth options disable their routers', async (t) => {
  const bench = await middlewareBench(
    t,
    {
      nousers: { digestAuth: {} },
      badline: { digestAuth: { users: ['alice:secret'] } },
      badhash: { digestAuth: { users: ['alice:traefik:nothex'] } },
      otherrealm: { digestAuth: { users: [`alice:shop:${ha1('alice', 'shop', 'x')}`] } },
    },
    { nousers: ['nousers'], badline: ['badline'], badhash: ['badhash'], otherrealm: ['otherrealm'] },
  );
  const cases = [
    { router: 'nousers', error: /users: no users for realm "traefik"/ },
    { router: 'badline', error: /digestAuth\.users\[0\]: expected user:realm:hash/ },
    { router: 'badhash', error: /digestAuth\.users\[0\]: user "alice": expected an MD5 hex digest/ },
    { router: 'otherrealm', error: /no users for realm "traefik"/ },
  ];
  for (const c of cases) t.match(bench.routerErrors(c.router).join('\n'), c.error, c.router);
});
