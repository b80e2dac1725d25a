/**
 * Decoding `certificatesResolvers`: Traefik's keys and defaults, and errors
 * that name the offending field.
 */
import t from 'tap';
import { certificatesResolversDecoder, LETS_ENCRYPT_PRODUCTION } from '../../src/tls/resolver-options';
import { TlsManager } from '../../src/tls';
import os from 'node:os';

t.test('valid resolvers', async (t) => {
  const cases: { name: string; raw: unknown; expect: unknown }[] = [
    {
      name: 'defaults',
      raw: { le: { acme: { httpChallenge: { entryPoint: 'web' } } } },
      expect: { le: { kind: 'acme', acme: { caServer: LETS_ENCRYPT_PRODUCTION, keyType: 'EC256', certificatesDuration: 2160, httpChallenge: { entryPoint: 'web' } } } },
    },
    {
      name: 'everything, any key case, label-style strings',
      raw: {
        le: {
          ACME: {
            Email: 'ops@example.com',
            caserver: 'https://acme-staging-v02.api.letsencrypt.org/directory',
            storage: '/data/acme.json',
            keyType: 'rsa4096',
            eab: { kid: 'kid-1', hmacEncoded: 'aGVsbG8' },
            tlsChallenge: 'true',
            preferredChain: 'ISRG Root X1',
            certificatesDuration: '24',
            caCertificates: '/etc/ca1.pem,/etc/ca2.pem',
          },
        },
      },
      expect: {
        le: {
          kind: 'acme',
          acme: {
            email: 'ops@example.com',
            caServer: 'https://acme-staging-v02.api.letsencrypt.org/directory',
            storage: '/data/acme.json',
            keyType: 'RSA4096',
            eab: { kid: 'kid-1', hmacEncoded: 'aGVsbG8' },
            tlsChallenge: {},
            preferredChain: 'ISRG Root X1',
            certificatesDuration: 24,
            caCertificates: ['/etc/ca1.pem', '/etc/ca2.pem'],
          },
        },
      },
    },
    {
      name: 'DNS-01, Traefik v3 keys',
      raw: { le: { acme: { dnsChallenge: { provider: 'rfc2136', resolvers: ['127.0.0.1:5353', '[::1]:53'], propagation: { delayBeforeChecks: '2s', disableANSChecks: true, requireAllRNS: 'true' } } } } },
      expect: {
        le: {
          kind: 'acme',
          acme: {
            caServer: LETS_ENCRYPT_PRODUCTION, keyType: 'EC256', certificatesDuration: 2160,
            dnsChallenge: { provider: 'rfc2136', resolvers: ['127.0.0.1:5353', '[::1]:53'], propagation: { delayBeforeChecks: 2000, disableChecks: false, requireAllRNS: true, disableANSChecks: true } },
          },
        },
      },
    },
    {
      name: 'DNS-01, Traefik v2 keys (applied)',
      raw: { le: { acme: { dnsChallenge: { provider: 'exec', delayBeforeCheck: 30, disablePropagationCheck: true } } } },
      expect: {
        le: {
          kind: 'acme',
          acme: {
            caServer: LETS_ENCRYPT_PRODUCTION, keyType: 'EC256', certificatesDuration: 2160,
            dnsChallenge: { provider: 'exec', propagation: { delayBeforeChecks: 30_000, disableChecks: true, requireAllRNS: false, disableANSChecks: false } },
          },
        },
      },
    },
    { name: 'local CA, empty section', raw: { dev: { local: null } }, expect: { dev: { kind: 'local', local: { certificatesDuration: 168 } } } },
    { name: 'local CA with duration', raw: { dev: { local: { certificatesDuration: 48 } } }, expect: { dev: { kind: 'local', local: { certificatesDuration: 48 } } } },
  ];
  for (const c of cases) t.same(certificatesResolversDecoder(c.raw, 'certificatesResolvers'), c.expect, c.name);
});

t.test('errors name the field', async (t) => {
  const cases: { raw: unknown; path: string; message: RegExp }[] = [
    { raw: { le: { acme: {} } }, path: 'certificatesResolvers.le.acme', message: /needs httpChallenge, tlsChallenge or dnsChallenge/ },
    { raw: { le: { acme: { tlsChallenge: {}, keyType: 'EC521' } } }, path: 'certificatesResolvers.le.acme.keyType', message: /one of EC256, EC384, RSA2048, RSA4096/ },
    { raw: { le: { acme: { tlsChallenge: {}, caServer: 'acme.example.com' } } }, path: 'certificatesResolvers.le.acme.caServer', message: /URL/ },
    { raw: { le: { acme: { httpChallenge: {} } } }, path: 'certificatesResolvers.le.acme.httpChallenge.entryPoint', message: /required/ },
    { raw: { le: { acme: { dnsChallenge: {} } } }, path: 'certificatesResolvers.le.acme.dnsChallenge.provider', message: /required/ },
    { raw: { le: { acme: { dnsChallenge: { provider: 'exec', resolvers: ['1.1.1.1:99999'] } } } }, path: 'certificatesResolvers.le.acme.dnsChallenge.resolvers[0]', message: /host:port/ },
    { raw: { le: { acme: { dnsChallenge: { provider: 'exec', propagation: { delayBeforeChecks: 'soon' } } } } }, path: 'certificatesResolvers.le.acme.dnsChallenge.propagation.delayBeforeChecks', message: /duration/ },
    { raw: { le: { acme: { tlsChallenge: {}, emial: 'x' } } }, path: 'certificatesResolvers.le.acme.emial', message: /did you mean email/ },
    { raw: { le: { acme: { tlsChallenge: {}, eab: { kid: 'k' } } } }, path: 'certificatesResolvers.le.acme.eab.hmacEncoded', message: /required/ },
    { raw: { le: { acme: { tlsChallenge: {}, certificatesDuration: -1 } } }, path: 'certificatesResolvers.le.acme.certificatesDuration', message: /positive/ },
    { raw: { le: {} }, path: 'certificatesResolvers.le', message: /needs an acme or a local section/ },
    { raw: { le: { acme: { tlsChallenge: {} }, local: {} } }, path: 'certificatesResolvers.le', message: /either acme or local/ },
  ];
  for (const c of cases) {
    t.throws(() => certificatesResolversDecoder(c.raw, 'certificatesResolvers'), { path: c.path, message: c.message }, c.path);
  }
  const shared = { acme: { tlsChallenge: {}, storage: '/nonexistent-dir/portier-acme.json' } };
  t.throws(() => new TlsManager({ dataDir: os.tmpdir(), resolvers: { a: shared, b: shared } }), {
    path: 'certificatesResolvers.b.acme.storage',
    message: /already the storage of resolver a/,
  });
});
