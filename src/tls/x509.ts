/**
 * Builds and signs X.509 v3 certificates in process (EC P-256, ECDSA with
 * SHA-256), for the local development CA and the self-signed default
 * certificate. Issuing one takes well under a millisecond of signing, so
 * leaf certificates can be made during a TLS handshake.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import * as asn1 from './asn1';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

export interface Subject {
  commonName: string;
  organization?: string;
}

export interface CertificateSpec {
  subject: Subject;
  publicKey: crypto.KeyObject;
  /** Defaults to a self-signed certificate: the subject and key of the certificate itself. */
  issuer?: { subject: Subject; privateKey: crypto.KeyObject; publicKey: crypto.KeyObject };
  /** Self-signed certificates need their own private key. */
  privateKey?: crypto.KeyObject;
  notBefore: Date;
  notAfter: Date;
  isCa?: boolean;
  /** DNS names and IP addresses for the subjectAltName extension. */
  altNames?: string[];
}

export interface KeyPair {
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
}

export const generateEcKeyPair = (): KeyPair => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });

function name(s: Subject): Buffer {
  const rdn = (type: string, value: string): Buffer => asn1.set(asn1.sequence(asn1.oid(type), asn1.utf8String(value)));
  return asn1.sequence(...(s.organization ? [rdn(OID.organization, s.organization)] : []), rdn(OID.commonName, s.commonName));
}

const keyId = (key: crypto.KeyObject): Buffer =>
  crypto.createHash('sha1').update(key.export({ type: 'spki', format: 'der' })).digest();

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return asn1.sequence(asn1.oid(id), ...(critical ? [asn1.boolean(true)] : []), asn1.octetString(value));
}

function altName(n: string): Buffer {
  if (net.isIPv4(n)) return asn1.implicit(7, Buffer.from(n.split('.').map(Number)));
  if (net.isIPv6(n)) return asn1.implicit(7, ipv6Bytes(n));
  return asn1.implicit(2, Buffer.from(n, 'ascii'));
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(groups.map((g) => g.padStart(4, '0')).join(''), 'hex');
}

/** Returns the certificate as PEM. */
export function createCertificate(spec: CertificateSpec): string {
  const issuer = spec.issuer ?? { subject: spec.subject, privateKey: spec.privateKey, publicKey: spec.publicKey };
  if (!issuer.privateKey) throw new Error('a self-signed certificate needs its private key');
  const algorithm = asn1.sequence(asn1.oid(OID.ecdsaWithSha256));
  // 16 random bytes with the top bit clear: positive, unique and unguessable (CA/B BR 7.1).
  const serial = crypto.randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;

  // keyUsage bits: digitalSignature (bit 0), keyCertSign (5), cRLSign (6); DER drops trailing zero bits.
  const keyUsage = spec.isCa ? asn1.bitString(Buffer.from([0x86]), 1) : asn1.bitString(Buffer.from([0x80]), 7);
  const extensions = [
    extension(OID.basicConstraints, true, asn1.sequence(...(spec.isCa ? [asn1.boolean(true), asn1.integer(0)] : []))),
    extension(OID.keyUsage, true, keyUsage),
    extension(OID.subjectKeyId, false, asn1.octetString(keyId(spec.publicKey))),
  ];
  if (spec.issuer) extensions.push(extension(OID.authorityKeyId, false, asn1.sequence(asn1.implicit(0, keyId(spec.issuer.publicKey)))));
  if (!spec.isCa) extensions.push(extension(OID.extKeyUsage, false, asn1.sequence(asn1.oid(OID.serverAuth))));
  if (spec.altNames?.length) extensions.push(extension(OID.subjectAltName, false, asn1.sequence(...spec.altNames.map(altName))));

  const tbs = asn1.sequence(
    asn1.explicit(0, asn1.integer(2)),
    asn1.integer(serial),
    algorithm,
    name(issuer.subject),
    asn1.sequence(asn1.time(spec.notBefore), asn1.time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    asn1.explicit(3, asn1.sequence(...extensions)),
  );
  const signature = crypto.sign('sha256', tbs, { key: issuer.privateKey, dsaEncoding: 'der' });
  const der = asn1.sequence(tbs, algorithm, asn1.bitString(signature));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

export const privateKeyPem = (key: crypto.KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();
