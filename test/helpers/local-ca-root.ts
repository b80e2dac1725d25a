/**
 * Child process for the local CA creation race: waits until the given
 * moment, then creates (or loads) the CA and prints the root's fingerprint.
 */
import crypto from 'node:crypto';
import { LocalCa } from '../../src/tls/local-ca';

const [dataDir, at] = process.argv.slice(2);
setTimeout(() => {
  const ca = new LocalCa({ dataDir });
  const leaf = ca.issue('race.localhost');
  const ok = new crypto.X509Certificate(leaf.certPem).verify(new crypto.X509Certificate(ca.rootPem()).publicKey);
  process.stdout.write(`${new crypto.X509Certificate(ca.rootPem()).fingerprint256} ${ok}\n`);
}, Math.max(0, Number(at) - Date.now()));
