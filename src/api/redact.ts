/**
 * Middleware options as the API shows them: secrets replaced by `REDACTED`.
 * Password hashes in basicAuth/digestAuth `users` (the user name stays, so
 * an operator can still see who may log in), forwardAuth's client TLS key,
 * and values of credential-like headers set by a `headers` middleware. The
 * API is read by dashboards and scripts; a hash there is an offline
 * cracking target (Traefik's API leaked such configuration, CVE-2018-15598).
 */
export const REDACTED = 'REDACTED';

const SECRET_HEADER = /authorization|cookie|token|secret|password|api-?key/i;

type Redactor = (options: Record<string, unknown>) => void;

const byType: Record<string, Redactor> = {
  basicauth: (o) => redactUsers(o),
  digestauth: (o) => redactUsers(o),
  forwardauth: (o) => {
    const tls = field(o, 'tls');
    if (isRecord(tls.value)) for (const k of Object.keys(tls.value)) if (k.toLowerCase() === 'key') tls.value[k] = REDACTED;
  },
  headers: (o) => {
    for (const name of ['customRequestHeaders', 'customResponseHeaders']) {
      const headers = field(o, name).value;
      if (isRecord(headers)) for (const h of Object.keys(headers)) if (SECRET_HEADER.test(h) && headers[h] !== '') headers[h] = REDACTED;
    }
  },
};

/** A deep copy of `options` of a middleware of `type` (any case), with its secrets redacted. */
export function redactMiddlewareOptions(type: string, options: unknown): unknown {
  const redactor = byType[type.toLowerCase()];
  if (!redactor || !isRecord(options)) return options;
  const copy = structuredClone(options);
  redactor(copy);
  return copy;
}

/** `user:hash` (basic) or `user:realm:hash` (digest) → the same with the hash redacted. */
function redactUsers(o: Record<string, unknown>): void {
  const users = field(o, 'users');
  if (users.key === undefined) return;
  const entries = Array.isArray(users.value) ? users.value : String(users.value ?? '').split(',');
  o[users.key] = entries.map((e) => {
    const s = String(e).trim();
    const last = s.lastIndexOf(':');
    return last < 0 ? REDACTED : `${s.slice(0, last)}:${REDACTED}`;
  });
}

/** Option keys are case-insensitive (labels arrive lowercased). */
function field(o: Record<string, unknown>, name: string): { key?: string; value: unknown } {
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return { key, value: key === undefined ? undefined : o[key] };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
