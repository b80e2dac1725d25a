import { readFileSync } from 'node:fs';
import { configError, errorMessage } from '../../src/errors';

/**
 * Users of an auth middleware: the inline list plus the lines of
 * `usersFile` (read once, when the middleware is created). Inline entries
 * win over the file's for the same user, as in Traefik.
 */
export function loadUsers<E extends { user: string }>(
  inline: readonly string[],
  file: string | undefined,
  parseLine: (line: string, path: string) => E,
): Map<string, E> {
  const users = new Map<string, E>();
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw configError('usersFile', `cannot read ${file}: ${errorMessage(err)}`);
    }
    text.split(/\r?\n/).forEach((line, i) => {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) return;
      const e = parseLine(t, `usersFile ${file}:${i + 1}`);
      users.set(e.user, e);
    });
  }
  inline.forEach((line, i) => {
    const e = parseLine(line, `users[${i}]`);
    users.set(e.user, e);
  });
  return users;
}
