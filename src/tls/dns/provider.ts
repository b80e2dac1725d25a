/**
 * A DNS provider publishes and removes the `_acme-challenge` TXT record of
 * a DNS-01 challenge. Each is one file, configured as lego configures it
 * (environment variables, `NAME_FILE` for a value kept in a file), so a
 * Traefik user changes nothing. A named API provider (Cloudflare, …) is one
 * more file and one line in the registry (index.ts).
 */
import fs from 'node:fs';

export interface ChallengeRecord {
  /** `_acme-challenge.<domain>.`, fully qualified. */
  fqdn: string;
  /** The TXT value: base64url(SHA-256(keyAuthorization)). */
  value: string;
  /** The domain being validated (without `*.`), token and key authorization, for lego's RAW modes. */
  domain: string;
  token: string;
  keyAuth: string;
}

export interface DnsProvider {
  /** How long to wait for the record to be visible, and how often to look (lego's per-provider defaults or variables). */
  readonly propagationTimeoutMs: number;
  readonly pollingIntervalMs: number;
  present(record: ChallengeRecord): Promise<void>;
  cleanup(record: ChallengeRecord): Promise<void>;
}

export type Env = Record<string, string | undefined>;

/** Makes a provider from its variables; throws an Error naming the variable at fault. */
export type DnsProviderFactory = (env: Env) => DnsProvider;

/** A variable, or the contents of the file `NAME_FILE` names (lego's convention), trimmed. */
export function envValue(env: Env, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
}

export function requiredEnv(env: Env, name: string): string {
  const v = envValue(env, name);
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
}

/** A whole number of seconds, as lego reads its timeouts; returned in milliseconds. */
export function envSeconds(env: Env, name: string, fallbackSeconds: number): number {
  const v = envValue(env, name);
  if (v === undefined) return fallbackSeconds * 1000;
  if (!/^\d+$/.test(v.trim()) || Number(v) <= 0) throw new Error(`${name}: expected a whole number of seconds, got ${JSON.stringify(v)}`);
  return Number(v) * 1000;
}

export function envInt(env: Env, name: string, fallback: number): number {
  const v = envValue(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v.trim())) throw new Error(`${name}: expected a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}
