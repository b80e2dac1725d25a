import type { RuleNode } from './ast';
import type { HostBinding } from './types';

/**
 * The hosts a rule is bound to, derived from its tree: a Host leaf binds;
 * `a && b` is bound when either side is (both bound and exact: the
 * intersection); `a || b` only when both sides are (the union); a negation or
 * any other matcher is unbound. The result may over-approximate (the rule can
 * still fail for a listed host) but never misses a host the rule accepts.
 */
export function hostBinding(node: RuleNode): HostBinding | null {
  switch (node.kind) {
    case 'leaf': return node.leaf.hosts ?? null;
    case 'not': return null;
    case 'or': {
      const l = hostBinding(node.left);
      const r = l && hostBinding(node.right);
      if (!l || !r) return null;
      return { exact: union(l.exact, r.exact), wildcard: union(l.wildcard, r.wildcard) };
    }
    case 'and': {
      const l = hostBinding(node.left);
      const r = hostBinding(node.right);
      if (!l || !r) return l ?? r;
      if (l.wildcard.length === 0 && r.wildcard.length === 0) {
        const right = new Set(r.exact);
        return { exact: l.exact.filter((h) => right.has(h)), wildcard: [] };
      }
      return l.wildcard.length === 0 ? l : r.wildcard.length === 0 ? r : l;
    }
  }
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];

/** The `hosts` of CompiledRule: only exact names; a wildcard makes it null. */
export function exactHosts(binding: HostBinding | null): readonly string[] | null {
  if (!binding || binding.wildcard.length !== 0) return null;
  // Shared with the binding when it has no duplicate: one list per rule, not two.
  const unique = [...new Set(binding.exact)];
  return unique.length === binding.exact.length ? binding.exact : unique;
}
