import { readFileSync } from 'node:fs';
import { readStaticConfig } from '../config/load';
import { errorsOf } from '../config/decode';
import type { FileRead } from '../../providers/file/read';
import type { RoutingTable } from '../routing/table';
import { errorMessage, PortierError } from '../errors';
import { withOfflineTable } from './offline-table';
import { missingFrom, repeatsDependency } from '../routing/compile-parts';
import { providerNames } from '../plugins';
import { readConfigFile } from '../config/config-file';
import type { ParsedConfig } from '../config/located';

/** The running server reports these when it loads them; check says so before it starts. */
function unreadableCertificates(certs: { certFile: string; keyFile: string }[]): string[] {
  const out: string[] = [];
  certs.forEach((c, i) => {
    for (const key of ['certFile', 'keyFile'] as const) {
      try {
        readFileSync(c[key]);
      } catch (err) {
        out.push(`tls.certificates[${i}].${key}: cannot read ${c[key]}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
      }
    }
  });
  return out;
}

const messages = (err: unknown): string[] => (err instanceof PortierError ? errorsOf(err).map((e) => e.message) : [errorMessage(err)]);

/**
 * What compiling found on the file provider's objects beyond what reading
 * them did (a missing service or middleware, an unknown middleware type or
 * option, an unreadable usersFile, …), each at the object's `file:line`.
 */
function compiled(table: RoutingTable, read: FileRead, runtimeProviders: Set<string>, errors: string[], warnings: string[]): void {
  const located = (message: string): boolean => read.files.some((f) => message.startsWith(`${f}:`));
  const parsed = new Map<string, ParsedConfig | undefined>();
  // `file:line` of a field below an object defined at `origin` (itself `file:line`), read again for its line.
  const position = (origin: string, field: string): string => {
    const file = origin.replace(/:\d+$/, '');
    if (!parsed.has(file)) {
      try {
        parsed.set(file, readConfigFile(file));
      } catch {
        parsed.set(file, undefined);
      }
    }
    const line = parsed.get(file)?.lineOf(field);
    return line ? `${file}:${line}` : origin;
  };
  const objects = [
    ['http', 'routers', table.routers], ['http', 'services', table.services], ['http', 'middlewares', table.middlewares],
    ['udp', 'routers', table.udp.routers], ['udp', 'services', table.udp.services],
    ['tcp', 'routers', table.tcp?.routers ?? new Map()], ['tcp', 'services', table.tcp?.services ?? new Map()], ['tcp', 'middlewares', table.tcp?.middlewares ?? new Map()],
  ] as const;
  for (const [proto, section, runtimes] of objects) {
    for (const r of runtimes.values()) {
      if (r.provider !== 'file') continue;
      const bare = r.name.slice(0, r.name.lastIndexOf('@'));
      const path = `${proto}.${section}.${bare}`;
      // The file provider keys HTTP objects without their section (`routers.api`), TCP and UDP ones with it.
      const origin = read.origins.get(proto === 'http' ? `${section}.${bare}` : path);
      const at = (m: string): string => {
        if (located(m)) return m;
        // A middleware's option errors carry their own path below the object's.
        const own = m.startsWith(`${path}.`);
        const where = origin && (own ? position(origin, m.slice(0, m.indexOf(': '))) : origin);
        return `${where ? `${where}: ` : ''}${own ? '' : `${path}: `}${m}`;
      };
      for (const m of r.errors) {
        if (repeatsDependency(m)) continue;
        // Docker's, Swarm's and the runtime core's objects exist only at run time: a reference to one is not checked.
        const from = missingFrom(m);
        if (from && runtimeProviders.has(from)) warnings.push(at(`${m.replace(/ does not exist$/, '')}: not checked, provider ${from} has its objects only at run time`));
        else errors.push(at(m));
      }
      warnings.push(...r.warnings.map(at));
    }
  }
}

/**
 * `portier check`: the static configuration and the file provider's files,
 * compiled as the gateway would (without listening). Prints every error and
 * warning, each `file:line: path: message`, and exits non-zero only when
 * there is an error.
 */
export async function checkCommand(file: string | undefined, flags: string[]): Promise<number> {
  const errors: string[] = [];
  const warnings: string[] = [];
  let loaded: ReturnType<typeof readStaticConfig> | undefined;
  try {
    loaded = readStaticConfig({ file, flags });
    errors.push(...loaded.errors.map((e) => e.message));
    warnings.push(...loaded.warnings.map((w) => w.message));
  } catch (err) {
    errors.push(...messages(err));
  }
  let files = 0;
  if (loaded) {
    const { config } = loaded;
    try {
      await withOfflineTable(config, (table, read) => {
        if (!read) return;
        files = read.files.length;
        errors.push(...read.errors.map((e) => e.message));
        // Files skipped and definitions ignored, as the running provider logs them.
        warnings.push(...read.notices);
        // Routers', services' and middlewares' own come with the compiled objects below.
        for (const [key, list] of Object.entries(read.warnings)) if (!/^(routers|services|middlewares)\./.test(key)) warnings.push(...list);
        errors.push(...unreadableCertificates(read.config.tls?.certificates ?? []));
        const runtimeProviders = new Set([...providerNames(config)].filter((p) => p !== 'file'));
        compiled(table, read, runtimeProviders, errors, warnings);
      });
    } catch (err) {
      errors.push(...messages(err));
    }
  }
  // The objects' errors include those their reading found: each is said once.
  const unique = (list: string[]): string[] => [...new Set(list)];
  const [e, w] = [unique(errors), unique(warnings)];
  for (const m of e) process.stderr.write(`error: ${m}\n`);
  for (const m of w) process.stderr.write(`warning: ${m}\n`);
  const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (e.length) {
    process.stderr.write(`${count(e.length, 'error')}${w.length ? `, ${count(w.length, 'warning')}` : ''}\n`);
    return 1;
  }
  const what = `${loaded?.file ?? 'defaults'}${files ? `, ${count(files, 'dynamic file')}` : ''}`;
  process.stdout.write(`configuration OK (${what})${w.length ? ` with ${count(w.length, 'warning')}` : ''}\n`);
  return 0;
}
