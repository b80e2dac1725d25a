import { PortierError } from '../errors';
import type { DockerEvent } from './events';
import type { Replica } from './replica';

/**
 * Docker's `filters` query parameter: JSON of `{"label": {"k=v": true}}`
 * (what the CLI sends) or the older `{"label": ["k=v"]}` (dockerode's).
 */
export type Filters = Record<string, string[]>;

export function parseFilters(raw: string | null): Filters {
  if (raw === null || raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new PortierError('BAD_REQUEST', `filters: invalid JSON ${JSON.stringify(raw)}`, { status: 400 });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PortierError('BAD_REQUEST', 'filters: expected a JSON object', { status: 400 });
  }
  const out: Filters = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (Array.isArray(value)) out[key] = value.map(String);
    else if (typeof value === 'object' && value !== null) out[key] = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k]);
    else throw new PortierError('BAD_REQUEST', `filters.${key}: expected a list or a map`, { status: 400 });
  }
  return out;
}

/** Every filter key must match; within a key, any of its values (Docker's semantics). */
export function matchReplica(r: Replica, f: Filters): boolean {
  return Object.entries(f).every(([key, values]) => {
    if (values.length === 0) return true;
    switch (key) {
      case 'label':
        return values.every((v) => matchLabel(r.labels, v));
      case 'status':
        return values.includes(r.state);
      case 'name':
        return values.some((v) => safeRegex(v).test(r.name));
      case 'id':
        return values.some((v) => r.id.startsWith(v));
      case 'health':
        return values.includes(r.health?.status ?? 'none');
      default:
        throw new PortierError('BAD_REQUEST', `invalid filter '${key}'`, { status: 400 });
    }
  });
}

export function matchEvent(e: DockerEvent, f: Filters): boolean {
  return Object.entries(f).every(([key, values]) => {
    if (values.length === 0) return true;
    switch (key) {
      case 'type':
        return values.includes(e.Type);
      case 'container':
        return values.some((v) => v === e.Actor.Attributes.name || e.Actor.ID.startsWith(v));
      case 'event':
        return values.some((v) => v === e.Action || e.Action.startsWith(`${v}:`));
      case 'label':
        return values.every((v) => matchLabel(e.Actor.Attributes, v));
      case 'image':
        return values.includes(e.from);
      default:
        throw new PortierError('BAD_REQUEST', `invalid filter '${key}'`, { status: 400 });
    }
  });
}

/** `key` (present) or `key=value`. */
function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

function safeRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch {
    throw new PortierError('BAD_REQUEST', `filters.name: invalid regular expression ${JSON.stringify(source)}`, { status: 400 });
  }
}
