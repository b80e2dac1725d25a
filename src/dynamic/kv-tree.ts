import { decodeDynamic, type DecodedDynamic } from './decode-dynamic';
import { PortierError } from '../errors';

/**
 * Traefik's key-value layout of the dynamic configuration, as its etcd,
 * Redis, Consul and ZooKeeper providers read it: one key per leaf below the
 * root key (`traefik/http/routers/api/rule`), list items by index
 * (`…/entrypoints/0`), map entries by name (`…/headers/X-Foo`). The keys are
 * folded into the plain object a dynamic file would parse to, and that goes
 * through the one dynamic schema (decodeDynamic), so an option means and
 * validates the same from a file, a label or a key. Values stay strings; the
 * decoders coerce `true` and numbers as they do for labels, and read
 * index-keyed maps as lists.
 */

/** The sections Traefik reads below the root key; any other key is not dynamic configuration and is skipped, as Traefik does. */
const ROOTS = ['http', 'tcp', 'udp', 'tls'];

/** Second-level names in their canonical spelling: keys are case-insensitive, and decodeDynamic reads these sections by name. */
const SECTIONS = ['routers', 'services', 'middlewares', 'serversTransports', 'certificates', 'options', 'stores'];

interface Node {
  /** Spelling of the first key seen with this name (Traefik merges names case-insensitively). */
  name: string;
  value?: string;
  /** The full key that set `value`, for messages. */
  key?: string;
  children: Map<string, Node>;
}

export interface KvTree {
  /** `{ http: { routers: { api: { rule: … } } } }`, as a dynamic file would parse. */
  tree: Record<string, unknown>;
  /** Accepted but not applied, per object (`routers.api`), as snapshots carry them. */
  warnings: Record<string, string[]>;
  /** For the log: keys skipped because they configure nothing. */
  notices: string[];
}

const canonical = (name: string, names: string[]): string => names.find((n) => n.toLowerCase() === name.toLowerCase()) ?? name;

/** Folds `key → value` pairs below `rootKey` into a tree; empty path segments are dropped as Traefik does. */
export function kvTree(pairs: Iterable<readonly [string, string]>, rootKey: string): KvTree {
  const root: Node = { name: '', children: new Map() };
  const skipped = new Set<string>();
  const prefix = `${rootKey}/`;
  for (const [key, value] of [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!key.startsWith(prefix)) continue;
    const path = key.slice(prefix.length).split('/').filter((s) => s !== '');
    if (path.length === 0) continue;
    path[0] = canonical(path[0], ROOTS);
    if (!ROOTS.includes(path[0])) {
      skipped.add(path[0]);
      continue;
    }
    if (path.length > 1) path[1] = canonical(path[1], SECTIONS);
    let node = root;
    for (const seg of path) {
      let next = node.children.get(seg.toLowerCase());
      if (!next) node.children.set(seg.toLowerCase(), (next = { name: seg, children: new Map() }));
      node = next;
    }
    node.value = value;
    node.key = key;
  }
  const out: KvTree = { tree: {}, warnings: {}, notices: [] };
  for (const s of skipped) out.notices.push(`keys under ${prefix}${s}/ are not dynamic configuration (${ROOTS.join(', ')}); skipped`);
  out.tree = root.children.size ? (plain(root, [], out) as Record<string, unknown>) : {};
  return out;
}

function plain(node: Node, path: string[], out: KvTree): unknown {
  if (node.children.size === 0) return node.value ?? '';
  // `…/tls = true` beside `…/tls/certresolver`: the keys below say more, and `true` is what they imply anyway.
  if (node.value !== undefined && node.value.trim() !== '' && !/^true$/i.test(node.value.trim())) {
    const message = `key ${node.key}: keys below it are set too, so its value ${JSON.stringify(node.value)} is ignored`;
    const [root, section, name] = path;
    if (root === 'http' && name !== undefined) (out.warnings[`${section}.${name}`] ??= []).push(message);
    else out.notices.push(message);
  }
  const obj: Record<string, unknown> = {};
  for (const child of node.children.values()) obj[child.name] = plain(child, [...path, child.name], out);
  return obj;
}

/** `http.routers.api.tls.domains[0].main` → `traefik/http/routers/api/tls/domains/0/main`. */
export function keyOf(rootKey: string, path: string): string {
  return [rootKey, ...path.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '')].join('/');
}

export interface KvDecoded extends DecodedDynamic {
  notices: string[];
}

/**
 * The pairs below `rootKey` decoded as a dynamic configuration; every error
 * names the key it is about (`traefik/http/routers/api/rule: …`). An error
 * disables only its object; `errors.file` means the configuration's shape is
 * wrong as a whole (a `tls` section that cannot be read, an unknown section
 * under `http`).
 */
export function decodeKv(pairs: Iterable<readonly [string, string]>, rootKey: string): KvDecoded {
  const { tree, warnings, notices } = kvTree(pairs, rootKey);
  const decoded = decodeDynamic(tree, (e) => {
    if (!e.path) return e;
    const message = e.message.slice(e.path.length + 2);
    return new PortierError(e.code, message, { path: keyOf(rootKey, e.path) });
  });
  for (const [k, list] of Object.entries(warnings)) (decoded.warnings[k] ??= []).push(...list);
  return { ...decoded, notices };
}
