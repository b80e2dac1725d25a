import * as net from 'node:net';

/**
 * A free 127.0.0.1 TCP port: bind port 0, read what the kernel gave, close.
 * `taken` holds ports already handed to live replicas, since the kernel may
 * hand a just-closed port out again before its replica binds it.
 */
export async function freePort(taken: Set<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    if (!taken.has(port)) return port;
  }
  throw new Error('no free port on 127.0.0.1');
}
