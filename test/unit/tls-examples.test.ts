/**
 * The TLS examples stay valid: their resolvers decode, the production one
 * points at Let's Encrypt staging, and their TLS options are accepted.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { certificatesResolversDecoder, LETS_ENCRYPT_STAGING } from '../../src/tls/resolver-options';
import { secureContextSettings } from '../../src/tls/server-options';

const root = path.join(__dirname, '..', '..', 'examples');
const read = (f: string): Record<string, any> => parse(fs.readFileSync(path.join(root, f), 'utf8'));

t.test('examples', async (t) => {
  const cases = [
    { file: 'production/portier.yaml', resolvers: { le: 'acme', 'le-alpn': 'acme' } },
    { file: 'local-https/portier.yaml', resolvers: { local: 'local' } },
  ];
  for (const c of cases) {
    const decoded = certificatesResolversDecoder(read(c.file).certificatesResolvers, 'certificatesResolvers');
    t.same(Object.fromEntries(Object.entries(decoded).map(([k, v]) => [k, v.kind])), c.resolvers, c.file);
    for (const r of Object.values(decoded)) if (r.kind === 'acme') t.equal(r.acme.caServer, LETS_ENCRYPT_STAGING, `${c.file}: staging CA`);
  }
  const dyn = read('production/dynamic.yaml');
  for (const [name, o] of Object.entries(dyn.tls.options)) t.ok(secureContextSettings(o as object, `tls.options.${name}`), `tls.options.${name} accepted`);
  const resolvers = new Set(Object.keys(read('production/portier.yaml').certificatesResolvers));
  for (const [name, r] of Object.entries<any>(dyn.http.routers)) t.ok(resolvers.has(r.tls.certResolver), `router ${name} uses a defined resolver`);
});
