/**
 * TLS options for an HTTPS entrypoint: the certificate comes from the store
 * by SNI, ALPN picks h2 or http/1.1 (`alpnProtocols`, in the server's order
 * of preference, as Go's TLS server does), and a TLS-ALPN-01 validation
 * (ALPN `acme-tls/1`) on the same port gets the challenge certificate
 * instead: held here, or published by another instance in the shared ACME
 * storage and looked up for that ClientHello only. Node runs ALPNCallback
 * before SNICallback and calls both with the TLSSocket as `this`
 * (undocumented; covered by a regression test), so ALPN marks the socket and
 * SNI reads it; SNICallback may answer later, ALPNCallback may not.
 */
import https from 'node:https';
import tls from 'node:tls';
import { configError } from '../errors';
import { ChallengeRegistry } from './challenges';
import { ServedCertificate } from './certificate';
import { CertificateStore } from './store';

export interface TlsOptions {
  minVersion?: string;
  maxVersion?: string;
  cipherSuites?: string[];
  curvePreferences?: string[];
  /** A function is read at every handshake, so a reload can change it without a new listener. */
  sniStrict?: boolean | (() => boolean);
  alpnProtocols?: string[];
  clientAuth?: { caFiles?: string[]; clientAuthType?: string };
}

const ACME_TLS = 'acme-tls/1';
/** Traefik's default `alpnProtocols` (its `acme-tls/1` is answered here whenever a challenge is pending). */
const SERVED_ALPN = ['h2', 'http/1.1'];

const VERSIONS: Record<string, tls.SecureVersion> = {
  versiontls10: 'TLSv1',
  versiontls11: 'TLSv1.1',
  versiontls12: 'TLSv1.2',
  versiontls13: 'TLSv1.3',
  tlsv1: 'TLSv1',
  'tlsv1.0': 'TLSv1',
  'tlsv1.1': 'TLSv1.1',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.3': 'TLSv1.3',
};

// Traefik takes Go's names; OpenSSL's names are accepted as they are.
const CIPHERS: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

const CURVES: Record<string, string> = {
  curvep256: 'P-256',
  curvep384: 'P-384',
  curvep521: 'P-521',
  x25519: 'X25519',
  'p-256': 'P-256',
  'p-384': 'P-384',
  'p-521': 'P-521',
  secp256r1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** The OpenSSL-level settings of a Traefik TLS option; errors name `path`'s fields. */
export function secureContextSettings(opts: TlsOptions, path = 'tls.options.default'): tls.SecureContextOptions {
  const minVersion = VERSIONS[(opts.minVersion ?? 'VersionTLS12').toLowerCase()];
  if (!minVersion) throw configError(`${path}.minVersion`, `unknown TLS version ${JSON.stringify(opts.minVersion)} (use VersionTLS12 or VersionTLS13)`);
  const out: tls.SecureContextOptions = { minVersion };
  if (opts.maxVersion !== undefined) {
    const maxVersion = VERSIONS[opts.maxVersion.toLowerCase()];
    if (!maxVersion) throw configError(`${path}.maxVersion`, `unknown TLS version ${JSON.stringify(opts.maxVersion)} (use VersionTLS12 or VersionTLS13)`);
    if (maxVersion < minVersion) throw configError(`${path}.maxVersion`, `${opts.maxVersion} is below minVersion`);
    out.maxVersion = maxVersion;
  }
  // Any other protocol would be announced and not served (TLS-ALPN-01 is answered whatever the list says).
  const alpn = (opts.alpnProtocols ?? []).findIndex((p) => !SERVED_ALPN.includes(p) && p !== ACME_TLS);
  if (alpn >= 0) throw configError(`${path}.alpnProtocols[${alpn}]`, `${JSON.stringify(opts.alpnProtocols![alpn])} is not supported (Portier serves h2 and http/1.1)`);
  if (opts.cipherSuites?.length) {
    out.ciphers = opts.cipherSuites
      .map((c, i) => {
        const name = CIPHERS[c.toUpperCase()] ?? (c.includes('-') ? c : undefined);
        if (!name) throw configError(`${path}.cipherSuites[${i}]`, `unknown cipher suite ${JSON.stringify(c)}`);
        return name;
      })
      .join(':');
  }
  if (opts.curvePreferences?.length) {
    out.ecdhCurve = opts.curvePreferences
      .map((c, i) => {
        const name = CURVES[c.toLowerCase()];
        if (!name) throw configError(`${path}.curvePreferences[${i}]`, `unknown curve ${JSON.stringify(c)} (use CurveP256, CurveP384, CurveP521 or X25519)`);
        return name;
      })
      .join(':');
  }
  return out;
}

/**
 * Options for `https.createServer`. Clients that send no SNI get the default
 * certificate (or no handshake under sniStrict); keep it and the TLS settings
 * current with `followTlsSettings`.
 */
export function httpsServerOptions(
  store: CertificateStore,
  challenges: ChallengeRegistry,
  opts: TlsOptions = {},
  path?: string,
  /** The context to serve a certificate with, when it must carry more than the certificate (client CAs). */
  contextFor: (cert: ServedCertificate) => tls.SecureContext = (cert) => cert.context,
): https.ServerOptions {
  const settings = secureContextSettings(opts, path);
  const acmeSockets = new WeakSet<tls.TLSSocket>();
  const strict = opts.sniStrict ?? false;
  const sniStrict = typeof strict === 'function' ? strict : () => strict;
  const fallback = strict === true ? {} : { key: store.defaultCertificate().keyPem, cert: store.defaultCertificate().certPem };
  const served = (opts.alpnProtocols ?? SERVED_ALPN).filter((p) => p !== ACME_TLS);
  return {
    ...settings,
    ...fallback,
    ALPNCallback: function (this: tls.TLSSocket, { servername, protocols }: { servername: string; protocols: string[] }) {
      const protocol = served.find((p) => protocols.includes(p));
      // A validation offers acme-tls/1 alone (RFC 8737 3), so only a ClientHello that would fail anyway waits for the shared store.
      if (protocols.includes(ACME_TLS) && (challenges.alpnContext(servername) || (servername && !protocol && challenges.hasRemotes()))) {
        acmeSockets.add(this);
        return ACME_TLS;
      }
      // A client that offers none of these gets no handshake (no_application_protocol), as from Go.
      return protocol;
    },
    SNICallback: function (this: tls.TLSSocket, servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) {
      if (acmeSockets.has(this)) {
        void challenges.alpnLookup(servername).then((ctx) => (ctx ? cb(null, ctx) : cb(new Error(`no TLS-ALPN-01 challenge for ${servername}`))));
        return;
      }
      const cert = store.match(servername) ?? (sniStrict() ? undefined : store.defaultCertificate());
      if (cert) cb(null, contextFor(cert));
      else cb(new Error(`no certificate for ${servername} (sniStrict)`));
    },
  };
}

/**
 * Keeps a listener's own context (the one every handshake starts from: its
 * protocol versions, ciphers and curves, and the certificate for clients
 * without SNI) in step with the current TLS options and the store's default
 * certificate. Under sniStrict it holds no certificate, so a client without
 * SNI gets no handshake. Returns `apply`, to call when the options change.
 */
export function followTlsSettings(server: tls.Server, store: CertificateStore, opts: () => TlsOptions): () => void {
  const apply = (): void => {
    const o = opts();
    const settings = secureContextSettings(o);
    const strict = typeof o.sniStrict === 'function' ? o.sniStrict() : o.sniStrict === true;
    const def = store.defaultCertificate();
    server.setSecureContext(strict ? settings : { ...settings, key: def.keyPem, cert: def.certPem });
  };
  apply();
  const off = store.onDefaultChange(apply);
  server.once('close', off);
  return apply;
}
