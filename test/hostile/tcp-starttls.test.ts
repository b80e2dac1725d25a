import t from 'tap';
import net from 'node:net';
import { startPortierFromFiles } from '../helpers/portier';
import { startGreeter } from '../helpers/tcp-peers';

/**
 * Hostile PostgreSQL STARTTLS clients against an entrypoint with a TLS TCP
 * router: each is answered `S` and then closed within the entrypoint's
 * header timeout (1 s here), without reaching a server or crashing anything.
 */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);

function session(port: number, steps: (Buffer | number)[]): Promise<{ got: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ got, ms: Date.now() - started }));
    s.on('connect', async () => {
      for (const step of steps) {
        if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
        else if (!s.destroyed) s.write(step);
      }
    });
  });
}

t.test('STARTTLS abuse is bounded', async (t) => {
  const backend = await startGreeter(t, 'never');
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': 'dataDir: ./data\nentryPoints:\n  db: { address: "127.0.0.1:0", transport: { respondingTimeouts: { readHeaderTimeout: 1s } } }\nproviders:\n  file: { filename: dynamic.yaml }\n',
    'dynamic.yaml': `tcp:\n  routers:\n    db: { entryPoints: [db], rule: "HostSNI(\`db.localhost\`)", service: db, tls: {} }\n  services:\n    db: { loadBalancer: { servers: [{ address: "127.0.0.1:${backend}" }] } }\n`,
  });
  const port = portier.gateway.port('db');
  const cases: { name: string; steps: (Buffer | number)[] }[] = [
    { name: 'nothing after the request', steps: [SSL_REQUEST] },
    { name: 'the request in single bytes, then nothing', steps: [...[...SSL_REQUEST].flatMap((b) => [Buffer.from([b]), 20])] },
    { name: 'garbage instead of a ClientHello', steps: [SSL_REQUEST, Buffer.from('GET / HTTP/1.1\r\n\r\n')] },
    { name: 'a truncated ClientHello', steps: [SSL_REQUEST, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])] },
  ];
  for (const c of cases) {
    const r = await session(port, c.steps);
    t.equal(r.got, 'S', `${c.name}: answered S, nothing else`);
    t.ok(r.ms < 8000, `${c.name}: closed within the header timeout (${r.ms} ms)`);
  }
  t.equal(portier.gateway.table.tcp?.routers.get('db@file')?.status, 'enabled', 'the router still serves');
});
