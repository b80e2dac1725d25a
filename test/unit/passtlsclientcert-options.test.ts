/**
 * passTLSClientCert's options as files and labels give them (Traefik's keys,
 * any case, label strings); mistakes name their field. The headers it sets
 * are checked end to end in test/integration/tls-router-options.test.ts.
 */
import t from 'tap';
import passTLSClientCert from '../../middlewares/passTLSClientCert';

t.test('options decode', async (t) => {
  const off = { country: false, province: false, locality: false, organization: false, commonName: false, serialNumber: false, domainComponent: false };
  const cases: { name: string; raw: unknown; want: unknown }[] = [
    { name: 'nothing', raw: {}, want: { pem: false } },
    { name: 'pem only', raw: { pem: true }, want: { pem: true } },
    {
      name: 'label strings, any case',
      raw: { PEM: 'true', info: { notafter: 'true', subject: { commonname: 'true', organizationalunit: 'true' }, issuer: { DomainComponent: 'true' } } },
      want: {
        pem: true,
        info: { notAfter: true, notBefore: false, sans: false, serialNumber: false, subject: { ...off, commonName: true, organizationalUnit: true }, issuer: { ...off, domainComponent: true } },
      },
    },
  ];
  for (const c of cases) t.same(passTLSClientCert.options(c.raw, 'middlewares.m.passTLSClientCert'), c.want, c.name);
});

t.test('mistakes name their field', async (t) => {
  const cases: { raw: unknown; path: string }[] = [
    { raw: { pem: 'yes' }, path: 'middlewares.m.passTLSClientCert.pem' },
    { raw: { info: { subject: { organisation: true } } }, path: 'middlewares.m.passTLSClientCert.info.subject.organisation' },
    { raw: { info: { issuer: { organizationalUnit: true } } }, path: 'middlewares.m.passTLSClientCert.info.issuer.organizationalUnit' },
  ];
  for (const c of cases) t.throws(() => passTLSClientCert.options(c.raw, 'middlewares.m.passTLSClientCert'), { path: c.path, message: /./ }, c.path);
});
