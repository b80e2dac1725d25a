/**
 * Mutual TLS: `tls.options.<name>.clientAuth` in Traefik's terms, turned
 * into Node's server settings and a check after the handshake for the two
 * Go modes OpenSSL has no flag for (a certificate required but not
 * verified; verified only when given). As in Traefik, `caFiles` alone means
 * RequireAndVerifyClientCert, and the verifying modes need `caFiles`.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import { configError, errorMessage } from '../errors';

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface ClientAuth {
  type: ClientAuthType;
  /** PEM of the CAs that sign accepted client certificates. */
  ca?: string[];
  /** What Node's TLS server is given. */
  serverOptions: Pick<tls.TlsOptions, 'requestCert' | 'rejectUnauthorized' | 'ca'>;
  /** Why a finished handshake must still be refused, or undefined. */
  refuse(socket: tls.TLSSocket): string | undefined;
}

/** Reads the CA files (once per configuration change); errors name `path`'s fields. */
export function clientAuthOf(raw: { caFiles?: string[]; clientAuthType?: string } | undefined, path: string): ClientAuth | undefined {
  if (!raw) return undefined;
  const ca = raw.caFiles?.map((file, i) => {
    let pem: string;
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw configError(`${path}.caFiles[${i}]`, `cannot read ${file}: ${errorMessage(err)}`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw configError(`${path}.caFiles[${i}]`, `${file} holds no PEM certificate`);
    return pem;
  });
  const given = raw.clientAuthType;
  if (given !== undefined && !(CLIENT_AUTH_TYPES as readonly string[]).includes(given)) {
    throw configError(`${path}.clientAuthType`, `unknown client auth type ${JSON.stringify(given)} (use one of ${CLIENT_AUTH_TYPES.join(', ')})`);
  }
  const type = (given ?? (ca?.length ? 'RequireAndVerifyClientCert' : 'NoClientCert')) as ClientAuthType;
  if ((type === 'VerifyClientCertIfGiven' || type === 'RequireAndVerifyClientCert') && !ca?.length) {
    throw configError(`${path}.caFiles`, `clientAuthType ${type} needs caFiles`, 'CONFIG_MISSING');
  }
  const hasCert = (s: tls.TLSSocket): boolean => Object.keys(s.getPeerCertificate() ?? {}).length > 0;
  const serverOptions: ClientAuth['serverOptions'] =
    type === 'NoClientCert' ? {} : { requestCert: true, rejectUnauthorized: type === 'RequireAndVerifyClientCert', ...(ca?.length ? { ca } : {}) };
  const refuse = (s: tls.TLSSocket): string | undefined => {
    if (type === 'RequireAnyClientCert' && !hasCert(s)) return 'no client certificate (RequireAnyClientCert)';
    if (type === 'VerifyClientCertIfGiven' && hasCert(s) && !s.authorized) return `client certificate not verified: ${String(s.authorizationError)}`;
    return undefined;
  };
  return { type, ca, serverOptions, refuse };
}
