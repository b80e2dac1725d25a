import t from 'tap';
import http2 from 'node:http2';
import { startTestGateway } from '../helpers/gateway';
import { startEchoBackend } from '../helpers/echo';

/**
 * The idle bound of HTTP/2 client sessions (docs/http2.md, "Limits"): a
 * session with no stream open for `respondingTimeouts.idleTimeout` gets
 * GOAWAY and is closed, PINGs notwithstanding (Go's rule, so Traefik's);
 * a session whose stream is still open is not idle however long it lasts.
 */

const IDLE_MS = 300;
/** The sweep's resolution is a second at most; below the idle timeout here. */
const LATE_MS = IDLE_MS + 1500;

interface Watched {
  session: http2.ClientHttp2Session;
  /** When the gateway's GOAWAY (or the close it leads to) came, ms after `since`, or undefined. */
  goawayAfter(): number | undefined;
  since: number;
}

function connect(port: number): Watched {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  let goawayAt: number | undefined;
  const since = Date.now();
  for (const event of ['goaway', 'close']) session.on(event, () => (goawayAt ??= Date.now()));
  return { session, since, goawayAfter: () => (goawayAt === undefined ? undefined : goawayAt - since) };
}

function get(session: http2.ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':authority': 'idle.localhost' });
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('error', reject);
    req.resume();
    req.on('end', () => resolve(status));
  });
}

const until = async (done: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
};

t.test('HTTP/2 sessions: closed after idleTimeout without a stream open, not while one is', async (t) => {
  const backend = await startEchoBackend('idle', (req, res) => {
    if (req.url !== '/slow') return false;
    setTimeout(() => res.end('late'), IDLE_MS * 3);
    return true;
  });
  t.teardown(() => backend.close());
  const gw = await startTestGateway(
    { http: { routers: { r: { rule: 'Host(`idle.localhost`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: backend.url }] } } } } },
    { staticConfig: { entryPoints: { web: { address: '127.0.0.1:0', transport: { respondingTimeouts: { idleTimeout: `${IDLE_MS}ms` } } } } } },
  );
  t.teardown(() => gw.close());

  const quiet = connect(gw.port);
  const pinging = connect(gw.port);
  const busy = connect(gw.port);
  t.teardown(() => [quiet, pinging, busy].forEach((w) => w.session.destroy()));
  t.equal(await get(quiet.session, '/'), 200, 'a request served');
  const pings = setInterval(() => pinging.session.destroyed || pinging.session.ping(() => {}), IDLE_MS / 4);
  t.teardown(() => clearInterval(pings));
  const slow = get(busy.session, '/slow');

  await until(() => quiet.goawayAfter() !== undefined && pinging.goawayAfter() !== undefined, LATE_MS + 500);
  for (const [name, w] of [['after its one request', quiet], ['pinging all along', pinging]] as const) {
    const after = w.goawayAfter();
    t.ok(after !== undefined && after >= IDLE_MS && after <= LATE_MS, `${name}: GOAWAY ${after} ms after opening (idle ${IDLE_MS} ms)`);
  }
  t.equal(busy.goawayAfter(), undefined, 'a session with its stream open for longer than idleTimeout stays');
  t.equal(await slow, 200, 'its response came');
  await until(() => busy.goawayAfter() !== undefined, LATE_MS + 500);
  t.ok(busy.goawayAfter() !== undefined, 'then idle, it is closed too');
});
