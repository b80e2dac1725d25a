/**
 * Child process for the storage atomicity test: rewrites an ACME storage
 * file as fast as it can, with content of varying size, until killed.
 */
import { AcmeStorage, emptyStorage } from '../../src/tls/acme-storage';

const storage = new AcmeStorage(process.argv[2], 'certificatesResolvers.le.acme.storage');
let i = 0;
for (;;) {
  const data = emptyStorage();
  data.certificates = Array.from({ length: 1 + (i % 50) }, (_, n) => ({
    main: `host${n}.example.test`,
    sans: [],
    certificate: 'x'.repeat(4000),
    key: 'k'.repeat(300),
    notBefore: new Date(0).toISOString(),
    notAfter: new Date(0).toISOString(),
  }));
  storage.save(data);
  if (i++ === 0) process.stdout.write('ready\n');
}
