/**
 * Splits one container's labels under the configured prefixes into the
 * objects they configure. Keys match case-insensitively; names of routers,
 * services and middlewares keep the spelling first seen. When two prefixes
 * set the same key, the earlier prefix (`portier.` before `traefik.`) wins.
 */
export interface LabelEntry {
  /** The label as the user wrote it, for error messages. */
  label: string;
  value: string;
  /** Option path below the object name; `domains[0]` becomes `domains`, `0`. */
  path: string[];
}

export interface ContainerLabels {
  enable?: LabelEntry;
  routers: Map<string, LabelEntry[]>;
  services: Map<string, LabelEntry[]>;
  middlewares: Map<string, LabelEntry[]>;
  /** Other keys under `tcp.` and `udp.` (`udp.middlewares.<name>`), keyed `<kind>.<name>`: unknown, reported. */
  tcpUdp: Map<string, LabelEntry[]>;
  /** `tcp.routers|services|middlewares.<name>.*` (src/tcp/label-tcp.ts). */
  tcp: { routers: Map<string, LabelEntry[]>; services: Map<string, LabelEntry[]>; middlewares: Map<string, LabelEntry[]> };
  /** `udp.routers.<name>.*` and `udp.services.<name>.*` (src/udp/label-udp.ts). */
  udp: { routers: Map<string, LabelEntry[]>; services: Map<string, LabelEntry[]> };
  /** `<prefix>.docker.network` and the like (PROVIDER_KEYS): read by the providers themselves. */
  provider: Map<string, LabelEntry>;
  /** Keys that configure nothing Portier knows. */
  unknown: LabelEntry[];
}

/** The provider-level keys a provider reads; any other `docker.*` or `swarm.*` key is unknown, so it warns. */
const PROVIDER_KEYS = new Set(['docker.network', 'docker.lbswarm', 'swarm.network', 'swarm.lbswarm']);

export function splitLabels(labels: Record<string, string>, prefixes: string[]): ContainerLabels {
  const out: ContainerLabels = {
    routers: new Map(),
    services: new Map(),
    middlewares: new Map(),
    tcpUdp: new Map(),
    tcp: { routers: new Map(), services: new Map(), middlewares: new Map() },
    udp: { routers: new Map(), services: new Map() },
    provider: new Map(),
    unknown: [],
  };
  const seen = new Set<string>();
  const names = new Map<string, string>();
  const keys = Object.keys(labels).sort();
  for (const prefix of prefixes) {
    const lp = prefix.toLowerCase() + '.';
    for (const label of keys) {
      if (!label.toLowerCase().startsWith(lp)) continue;
      const rest = label.slice(lp.length);
      const lower = rest.toLowerCase();
      if (seen.has(lower)) continue;
      seen.add(lower);
      route(out, { label, value: labels[label].trim(), path: splitPath(rest) }, names);
    }
  }
  return out;
}

function route(out: ContainerLabels, e: LabelEntry, names: Map<string, string>): void {
  const [a, b, c, ...rest] = e.path;
  const la = a?.toLowerCase();
  const lb = b?.toLowerCase();
  const named = (kind: string): string => {
    const key = `${kind}/${c.toLowerCase()}`;
    if (!names.has(key)) names.set(key, c);
    return names.get(key)!;
  };
  const add = (map: Map<string, LabelEntry[]>, name: string, path: string[]): void => {
    const list = map.get(name) ?? [];
    list.push({ ...e, path });
    map.set(name, list);
  };
  if (la === 'enable' && e.path.length === 1) {
    out.enable = e;
  } else if (la === 'http' && c !== undefined && (lb === 'routers' || lb === 'services' || lb === 'middlewares')) {
    add(out[lb], named(lb), rest);
  } else if (la === 'tcp' && c !== undefined && (lb === 'routers' || lb === 'services' || lb === 'middlewares')) {
    add(out.tcp[lb], named(`tcp.${lb}`), rest);
  } else if (la === 'udp' && c !== undefined && (lb === 'routers' || lb === 'services')) {
    add(out.udp[lb], named(`udp.${lb}`), rest);
  } else if ((la === 'tcp' || la === 'udp') && c !== undefined) {
    add(out.tcpUdp, `${lb}.${c}`, rest);
  } else if (PROVIDER_KEYS.has(e.path.join('.').toLowerCase())) {
    out.provider.set(e.path.join('.').toLowerCase(), e);
  } else {
    out.unknown.push(e);
  }
}

/** `tls.domains[0].main` → `tls`, `domains`, `0`, `main`. */
export function splitPath(key: string): string[] {
  const out: string[] = [];
  for (const seg of key.split('.')) {
    const m = /^(.*?)((?:\[\d+\])+)$/.exec(seg);
    if (!m) {
      out.push(seg);
      continue;
    }
    if (m[1] !== '') out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(idx[1]);
  }
  return out;
}

/**
 * A provider-level label such as `docker.network` or `swarm.lbswarm`,
 * read under the first prefix that sets it.
 */
export function providerLabel(labels: Record<string, string>, prefixes: string[], key: string): string | undefined {
  return splitLabels(labels, prefixes).provider.get(key.toLowerCase())?.value;
}
