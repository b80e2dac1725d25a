import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { boolean, object, withDefault } from '../src/config/decode';
import { defineMiddleware } from './types';

const flag = withDefault(boolean, false);
const dn = {
  country: flag,
  province: flag,
  locality: flag,
  organization: flag,
  commonName: flag,
  serialNumber: flag,
  domainComponent: flag,
};
const options = object({
  pem: flag,
  info: (raw, path, ctx) =>
    raw === undefined || raw === null
      ? undefined
      : object({
          notAfter: flag,
          notBefore: flag,
          sans: flag,
          serialNumber: flag,
          subject: (r, p, c) => (r === undefined || r === null ? undefined : object({ ...dn, organizationalUnit: flag })(r, p, c)),
          issuer: (r, p, c) => (r === undefined || r === null ? undefined : object(dn)(r, p, c)),
        })(raw, path, ctx),
});

type DnOptions = { [K in keyof typeof dn]: boolean } & { organizationalUnit?: boolean };

const CERT = 'x-forwarded-tls-client-cert';
const INFO = 'x-forwarded-tls-client-cert-info';

/** Go's url.QueryEscape: only letters, digits and -_.~ stay; a space is '+'. */
const queryEscape = (s: string): string =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

/** The attributes of a distinguished name as Node prints it (`C=FR\nO=Acme\nCN=alice`), in order, repeats kept. */
function attributes(name: string): [string, string][] {
  return name
    .split('\n')
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)] as [string, string];
    })
    .filter(([k, v]) => k && v);
}

/** Traefik's rendering: DC, C, ST, L, O, OU, SN, CN, each chosen by its option, joined by ','. */
function dnInfo(name: string, o: DnOptions): string {
  const attrs = attributes(name);
  const all = (key: string, label: string, on: boolean | undefined): string[] => (on ? attrs.filter(([k]) => k === key).map(([, v]) => `${label}=${v}`) : []);
  const one = (key: string, label: string, on: boolean): string[] => all(key, label, on).slice(-1);
  return [
    ...all('DC', 'DC', o.domainComponent),
    ...all('C', 'C', o.country),
    ...all('ST', 'ST', o.province),
    ...all('L', 'L', o.locality),
    ...all('O', 'O', o.organization),
    ...all('OU', 'OU', o.organizationalUnit),
    ...one('serialNumber', 'SN', o.serialNumber),
    ...one('CN', 'CN', o.commonName),
  ].join(',');
}

/** Go's order: DNS names, e-mail addresses, IPs, URIs. */
function sans(cert: X509Certificate): string[] {
  const entries = (cert.subjectAltName ?? '').split(', ').map((e) => [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)]);
  return ['DNS', 'email', 'IP Address', 'URI'].flatMap((kind) => entries.filter(([k]) => k === kind).map(([, v]) => v));
}

type Info = NonNullable<ReturnType<typeof options>['info']>;

function certInfo(cert: X509Certificate, info: Info): string {
  const values: string[] = [];
  if (info.subject) {
    const s = dnInfo(cert.subject, info.subject);
    if (s) values.push(`Subject="${s}"`);
  }
  if (info.issuer) {
    const s = dnInfo(cert.issuer, info.issuer);
    if (s) values.push(`Issuer="${s}"`);
  }
  if (info.serialNumber) values.push(`SerialNumber="${BigInt(`0x${cert.serialNumber}`).toString()}"`);
  if (info.notBefore) values.push(`NB="${Math.floor(Date.parse(cert.validFrom) / 1000)}"`);
  if (info.notAfter) values.push(`NA="${Math.floor(Date.parse(cert.validTo) / 1000)}"`);
  if (info.sans) {
    const list = sans(cert);
    if (list.length) values.push(`SAN="${list.join(',')}"`);
  }
  return values.join(';');
}

/**
 * Traefik's passTLSClientCert: the client certificate of a mutual-TLS
 * connection, to the backend in X-Forwarded-Tls-Client-Cert (PEM body
 * without armour or newlines) and/or X-Forwarded-Tls-Client-Cert-Info
 * (chosen fields, query-escaped). Only the leaf the client sent is passed.
 * Values a client sends itself in these fields are removed, so a backend
 * never mistakes them for Portier's.
 */
export default defineMiddleware({
  type: 'passTLSClientCert',
  plain: true,
  options,
  create({ pem, info }) {
    return (next) => async (ex) => {
      const h = ex.req.headers;
      if (pem) delete h[CERT];
      if (info) delete h[INFO];
      const socket = ex.tls ? (ex.req.socket as TLSSocket) : undefined;
      const cert = socket?.getPeerX509Certificate?.();
      if (cert) {
        if (pem) h[CERT] = cert.toString().replace(/-----(BEGIN|END) CERTIFICATE-----|\n/g, '');
        if (info) h[INFO] = queryEscape(certInfo(cert, info));
      }
      await next(ex);
    };
  },
});
