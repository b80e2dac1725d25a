/**
 * Options of `certificatesResolvers.<name>`, in Traefik's key names: an
 * `acme` resolver (Let's Encrypt or any ACME CA) or Portier's `local`
 * development CA. The static config keeps the section raw; the TLS manager
 * decodes it with `certificatesResolversDecoder`.
 */
import { configError } from '../errors';
import { boolean, Decoder, duration, isRecord, list, number, object, oneOf, optional, record, required, string, withDefault } from '../config/decode';
import { parseServer } from './dns/transport';
import { parseSharedStorage } from './shared-storage';

export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

export type KeyType = 'EC256' | 'EC384' | 'RSA2048' | 'RSA4096';

export interface AcmeResolverOptions {
  email?: string;
  caServer: string;
  /** JSON file for the account and certificates, or a Redis or etcd address (`redis://host:port/prefix`, `etcd://…`) shared by instances; default `<dataDir>/acme-<resolver>.json`. */
  storage?: string;
  keyType: KeyType;
  eab?: { kid: string; hmacEncoded: string };
  httpChallenge?: { entryPoint: string };
  tlsChallenge?: Record<string, never>;
  preferredChain?: string;
  /** Hours; sets how often renewal is checked (the renewal point comes from each certificate's own lifetime). */
  certificatesDuration: number;
  /** PEM files of CAs to trust for the ACME server's HTTPS (a private CA such as step-ca). */
  caCertificates?: string[];
  dnsChallenge?: DnsChallengeOptions;
}

/** `dnsChallenge`: DNS-01 through a provider of lego's names (Traefik's keys; durations in ms). */
export interface DnsChallengeOptions {
  provider: string;
  /** Recursive resolvers (`host:port`) the propagation check asks; default the system's. */
  resolvers?: string[];
  propagation: { delayBeforeChecks: number; disableChecks: boolean; requireAllRNS: boolean; disableANSChecks: boolean };
}

export interface LocalResolverOptions {
  /** Hours a leaf certificate lasts. */
  certificatesDuration: number;
}

export type ResolverOptions = { kind: 'acme'; acme: AcmeResolverOptions } | { kind: 'local'; local: LocalResolverOptions };

const url: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  if (!/^https?:\/\/[^\s/]+/.test(s)) throw configError(path, `expected an http(s) URL, got ${JSON.stringify(s)}`);
  return s;
};

const positiveHours: Decoder<number> = (raw, path) => {
  const n = number(raw, path);
  if (n <= 0) throw configError(path, `expected a positive number of hours, got ${n}`);
  return n;
};

/** A file path, or a shared store's address checked here so its mistakes name the field. */
const storage: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  parseSharedStorage(s, path);
  return s;
};

const resolverAddress: Decoder<string> = (raw, path) => {
  const s = string(raw, path);
  try {
    parseServer(s);
  } catch (err) {
    throw configError(path, (err as Error).message);
  }
  return s;
};

const dnsFields = object({
  provider: required(string),
  resolvers: optional(list(resolverAddress)),
  propagation: optional(
    object({
      delayBeforeChecks: optional(duration),
      disableChecks: optional(boolean),
      requireAllRNS: optional(boolean),
      disableANSChecks: optional(boolean),
    }),
  ),
  delayBeforeCheck: optional(duration),
  disablePropagationCheck: optional(boolean),
});

/** Traefik v3's `propagation` section; v2's `delayBeforeCheck` and `disablePropagationCheck` still apply, with a warning. */
const dnsChallenge: Decoder<DnsChallengeOptions> = (raw, path, ctx) => {
  const o = dnsFields(raw, path, ctx);
  const p = o.propagation ?? {};
  if (o.delayBeforeCheck !== undefined) ctx?.warn(`${path}.delayBeforeCheck`, 'deprecated (Traefik v3: propagation.delayBeforeChecks); applied');
  if (o.disablePropagationCheck !== undefined) ctx?.warn(`${path}.disablePropagationCheck`, 'deprecated (Traefik v3: propagation.disableChecks); applied');
  return {
    provider: o.provider,
    ...(o.resolvers?.length ? { resolvers: o.resolvers } : {}),
    propagation: {
      delayBeforeChecks: p.delayBeforeChecks ?? o.delayBeforeCheck ?? 0,
      disableChecks: p.disableChecks ?? o.disablePropagationCheck ?? false,
      requireAllRNS: p.requireAllRNS ?? false,
      disableANSChecks: p.disableANSChecks ?? false,
    },
  };
};

const acmeFields = object({
  email: optional(string),
  caServer: withDefault(url, LETS_ENCRYPT_PRODUCTION),
  storage: optional(storage),
  keyType: withDefault(oneOf<KeyType>('EC256', 'EC384', 'RSA2048', 'RSA4096'), 'EC256'),
  eab: optional(object({ kid: required(string), hmacEncoded: required(string) })),
  httpChallenge: optional(object({ entryPoint: required(string) })),
  tlsChallenge: optional(object({})),
  preferredChain: optional(string),
  certificatesDuration: withDefault(positiveHours, 2160),
  caCertificates: optional(list(string)),
  dnsChallenge: optional(dnsChallenge),
});

export const acmeResolverOptions: Decoder<AcmeResolverOptions> = (raw, path, ctx) => {
  const o = acmeFields(raw, path, ctx) as AcmeResolverOptions;
  if (!o.httpChallenge && !o.tlsChallenge && !o.dnsChallenge) throw configError(path, 'needs httpChallenge, tlsChallenge or dnsChallenge', 'CONFIG_MISSING');
  return o;
};

const localFields = object({ certificatesDuration: withDefault(positiveHours, 168) });

export const certificateResolverOptions: Decoder<ResolverOptions> = (raw, path, ctx) => {
  // `local:` with nothing under it (YAML null) means the local CA with defaults.
  const input = isRecord(raw) ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === null && k.toLowerCase() === 'local' ? {} : v])) : raw;
  const o = object({ acme: optional(acmeResolverOptions), local: optional(localFields) })(input, path, ctx);
  if (o.acme && o.local) throw configError(path, 'set either acme or local, not both');
  if (o.acme) return { kind: 'acme', acme: o.acme };
  if (o.local) return { kind: 'local', local: o.local };
  throw configError(path, 'needs an acme or a local section', 'CONFIG_MISSING');
};

export const certificatesResolversDecoder: Decoder<Record<string, ResolverOptions>> = record(certificateResolverOptions);
