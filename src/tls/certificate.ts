/**
 * A certificate ready to serve: its chain and key, the names it covers and
 * a prebuilt SecureContext, so SNI selection never parses PEM per handshake.
 */
import crypto from 'node:crypto';
import tls from 'node:tls';
import { PortierError, errorMessage } from '../errors';

export interface ServedCertificate {
  /** Lower-cased DNS names (and IPs) from subjectAltName, else the CN. */
  domains: string[];
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Where it came from: `file`, `default`, an ACME resolver's name, `local`. */
  resolver: string;
  certPem: string;
  keyPem: string;
  context: tls.SecureContext;
}

export type CertificateStatus = 'valid' | 'expiring' | 'expired';

/** What the API shows of a certificate (`/api/tls/certificates`). */
export interface CertificateListing {
  domains: string[];
  issuer: string;
  notAfter: string;
  resolver: string;
  status: CertificateStatus;
  /** ACME: the challenge types that validated it. */
  challenges?: string[];
  /** The wildcard names it holds (`*.example.com`), each covering one label below. */
  wildcards?: string[];
  /** ACME: when it was last issued, and the last failed renewal (kept until an order succeeds) and the next try. */
  renewedAt?: string;
  lastError?: string;
  lastAttemptAt?: string;
  nextAttemptAt?: string;
  attempts?: number;
}

export function listing(c: ServedCertificate, now = Date.now()): CertificateListing {
  const wildcards = c.domains.filter((d) => d.startsWith('*.'));
  return {
    domains: c.domains, issuer: c.issuer, notAfter: c.notAfter.toISOString(), resolver: c.resolver, status: certificateStatus(c, now),
    ...(wildcards.length ? { wildcards } : {}),
  };
}

/** Parses and checks a PEM chain and key; `source` names them in errors (a file path or a resolver). */
export function loadCertificate(certPem: string, keyPem: string, resolver: string, source = resolver): ServedCertificate {
  let leaf: crypto.X509Certificate;
  let context: tls.SecureContext;
  try {
    leaf = new crypto.X509Certificate(certPem);
    context = tls.createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new PortierError('CONFIG_INVALID', `cannot load certificate: ${errorMessage(err)}`, { path: source, cause: err });
  }
  const san = (leaf.subjectAltName ?? '')
    .split(', ')
    .map((s) => /^(?:DNS:|IP Address:)(.+)$/.exec(s)?.[1])
    .filter((s): s is string => !!s);
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
  const domains = (san.length ? san : cn ? [cn] : []).map((d) => d.toLowerCase());
  const issuer = /(?:^|\n)CN=([^\n]+)/.exec(leaf.issuer)?.[1] ?? leaf.issuer.replace(/\n/g, ', ');
  return {
    domains,
    issuer,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    resolver,
    certPem,
    keyPem,
    context,
  };
}

/** `expiring` once less than a third of the lifetime is left: the point where renewal starts. */
export function certificateStatus(c: Pick<ServedCertificate, 'notBefore' | 'notAfter'>, now = Date.now()): CertificateStatus {
  const end = c.notAfter.getTime();
  if (now >= end) return 'expired';
  return end - now < (end - c.notBefore.getTime()) / 3 ? 'expiring' : 'valid';
}

/** Does the certificate cover `name`, exactly or by a one-label wildcard? */
export function covers(domains: string[], name: string): boolean {
  const n = name.toLowerCase();
  const dot = n.indexOf('.');
  return domains.includes(n) || (dot > 0 && domains.includes('*' + n.slice(dot)));
}
