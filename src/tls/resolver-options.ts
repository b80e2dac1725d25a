/**
 * Options of `certificatesResolvers.<name>`, in Traefik's key names: an
 * `acme` resolver (Let's Encrypt or any ACME CA) or Portier's `local`
 * development CA. The static config keeps the section raw; the TLS manager
 * decodes it with `certificatesResolversDecoder`.
 */
import { configError } from '../errors';
import { Decoder, isRecord, list, number, object, oneOf, optional, record, required, string, withDefault } from '../config/decode';

export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

export type KeyType = 'EC256' | 'EC384' | 'RSA2048' | 'RSA4096';

export interface AcmeResolverOptions {
  email?: string;
  caServer: string;
  /** JSON file for the account and certificates; default `<dataDir>/acme-<resolver>.json`. */
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

const acmeFields = object({
  email: optional(string),
  caServer: withDefault(url, LETS_ENCRYPT_PRODUCTION),
  storage: optional(string),
  keyType: withDefault(oneOf<KeyType>('EC256', 'EC384', 'RSA2048', 'RSA4096'), 'EC256'),
  eab: optional(object({ kid: required(string), hmacEncoded: required(string) })),
  httpChallenge: optional(object({ entryPoint: required(string) })),
  tlsChallenge: optional(object({})),
  preferredChain: optional(string),
  certificatesDuration: withDefault(positiveHours, 2160),
  caCertificates: optional(list(string)),
});

export const acmeResolverOptions: Decoder<AcmeResolverOptions> = (raw, path) => {
  if (isRecord(raw)) {
    const dns = Object.keys(raw).find((k) => k.toLowerCase() === 'dnschallenge');
    if (dns) throw configError(`${path}.${dns}`, 'DNS-01 is not supported yet: use httpChallenge or tlsChallenge');
  }
  const o = acmeFields(raw, path) as AcmeResolverOptions;
  if (!o.httpChallenge && !o.tlsChallenge) throw configError(path, 'needs httpChallenge or tlsChallenge', 'CONFIG_MISSING');
  return o;
};

const localFields = object({ certificatesDuration: withDefault(positiveHours, 168) });

export const certificateResolverOptions: Decoder<ResolverOptions> = (raw, path) => {
  // `local:` with nothing under it (YAML null) means the local CA with defaults.
  const input = isRecord(raw) ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === null && k.toLowerCase() === 'local' ? {} : v])) : raw;
  const o = object({ acme: optional(acmeResolverOptions), local: optional(localFields) })(input, path);
  if (o.acme && o.local) throw configError(path, 'set either acme or local, not both');
  if (o.acme) return { kind: 'acme', acme: o.acme };
  if (o.local) return { kind: 'local', local: o.local };
  throw configError(path, 'needs an acme or a local section', 'CONFIG_MISSING');
};

export const certificatesResolversDecoder: Decoder<Record<string, ResolverOptions>> = record(certificateResolverOptions);
