import type { DynamicConfig } from '../../src/dynamic/model';
import type { DecodedDynamic } from '../../src/dynamic/decode-dynamic';
import type { ParsedConfig } from '../../src/config/located';

const SECTIONS = ['routers', 'services', 'middlewares', 'serversTransports'] as const;

/**
 * Merges the files of a directory as Traefik does: the first definition of
 * a name (in listing order) is used and a later one is ignored. Traefik only
 * logs that; here it is also a warning on the object in use, naming both
 * places, so the API shows why a definition the user wrote has no effect.
 * A warning, not an error: an error would disable the object, and the first
 * definition is meant to serve.
 */
export class FileMerge {
  readonly config: DynamicConfig = { http: { routers: {}, services: {}, middlewares: {}, serversTransports: {} } };
  /** Per object (`routers.api`), as the snapshot carries them. */
  readonly warnings: Record<string, string[]> = {};
  /** Per object in use, as the snapshot carries them: each disables its object (decode-dynamic.ts). */
  readonly errors: Record<string, string[]> = {};
  /** For the log, each `file:line: path: …`. */
  readonly notices: string[] = [];
  /** The files added, in order: an origin is an index into it. */
  private readonly files: { file: string; parsed: ParsedConfig }[] = [];
  /** Which file each name was first defined in, by `routers.api`, `tls.options.modern`: its line is looked up when asked. */
  private readonly firstIn = new Map<string, number>();
  /** The first file's HTTP sections, whose names are not listed in firstIn. */
  private readonly firstHttp: Record<string, Record<string, unknown>> = {};

  /** Where a name was first defined (`file:line`), by `routers.api`, `tls.options.modern`. */
  readonly origin = {
    get: (key: string): string | undefined => {
      const index = this.firstOf(key);
      return index === undefined ? undefined : this.where(index, SECTIONS.some((s) => key.startsWith(`${s}.`)) ? `http.${key}` : key);
    },
  };

  add(decoded: DecodedDynamic, file: string, parsed: ParsedConfig): void {
    const index = this.files.push({ file, parsed }) - 1;
    const kept = new Set<string>();
    for (const section of SECTIONS) {
      const into = this.config.http![section] as Record<string, unknown>;
      const from = decoded.config.http?.[section] ?? {};
      // The first file's names are all first: taken whole (a file of 10,000 routers is re-read on each change), and found there when asked.
      if (index === 0) {
        Object.assign(into, from);
        this.firstHttp[section] = from;
        continue;
      }
      for (const [name, value] of Object.entries(from)) {
        const key = `${section}.${name}`;
        if (!this.first(key, `http.${key}`, index)) continue;
        into[name] = value;
        kept.add(key);
      }
    }
    for (const [kind, items] of Object.entries(decoded.config.tcp ?? {})) {
      const into = ((this.config.tcp ??= {}) as Record<string, Record<string, unknown>>)[kind] ??= {};
      for (const [name, value] of Object.entries(items ?? {})) {
        const key = `tcp.${kind}.${name}`;
        if (!this.first(key, key, index)) continue;
        into[name] = value;
        kept.add(key);
      }
    }
    const tls = decoded.config.tls;
    if (tls) {
      const into = (this.config.tls ??= {});
      into.certificates = [...(into.certificates ?? []), ...(tls.certificates ?? [])];
      for (const [name, value] of Object.entries(tls.options ?? {})) if (this.first(`tls.options.${name}`, `tls.options.${name}`, index)) (into.options ??= {})[name] = value;
      for (const [name, value] of Object.entries(tls.stores ?? {})) if (this.first(`tls.stores.${name}`, `tls.stores.${name}`, index)) (into.stores ??= {})[name] = value;
    }
    for (const kind of ['routers', 'services'] as const) {
      for (const [name, value] of Object.entries(decoded.config.udp?.[kind] ?? {})) {
        const key = `udp.${kind}.${name}`;
        if (!this.first(key, key, index)) continue;
        (((this.config.udp ??= {})[kind] ??= {}) as Record<string, unknown>)[name] = value;
        kept.add(key);
      }
    }
    const ours = (key: string): boolean => kept.has(key) || (index === 0 && this.firstOf(key) === 0);
    for (const [key, list] of Object.entries(decoded.errors)) if (ours(key)) (this.errors[key] ??= []).push(...list);
    // An ignored definition's own warnings would otherwise land on the one in use.
    for (const [key, list] of Object.entries(decoded.warnings)) {
      if (ours(key) || this.firstOf(key) === undefined) (this.warnings[key] ??= []).push(...list);
    }
  }

  /** True when `key` is defined here for the first time; a later definition is reported and ignored. */
  private first(key: string, path: string, index: number): boolean {
    const firstIndex = this.firstOf(key);
    if (firstIndex === undefined) {
      this.firstIn.set(key, index);
      return true;
    }
    const first = this.where(firstIndex, path);
    const here = this.where(index, path);
    if (!key.startsWith('tls.')) (this.warnings[key] ??= []).push(`defined again at ${here}: that definition is ignored, this one (${first}) is used`);
    this.notices.push(`${here}: ${path}: already defined at ${first}; ignored, the first definition is used`);
    return false;
  }

  /** The file a name was first defined in: the first file's HTTP names are not listed, they are looked up in what it gave. */
  private firstOf(key: string): number | undefined {
    const listed = this.firstIn.get(key);
    if (listed !== undefined) return listed;
    const dot = key.indexOf('.');
    const section = SECTIONS.find((s) => s === key.slice(0, dot));
    return section && this.firstHttp[section] && Object.hasOwn(this.firstHttp[section], key.slice(dot + 1)) ? 0 : undefined;
  }

  private where(index: number, path: string): string {
    const { file, parsed } = this.files[index];
    const line = parsed.lineOf(path);
    return line ? `${file}:${line}` : file;
  }
}
