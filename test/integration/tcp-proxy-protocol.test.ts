import t, { type Test } from 'tap';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPortierFromFiles } from '../helpers/portier';
import { freePort } from '../helpers/pebble';

/**
 * PROXY protocol v1 and v2 written by Portier before the client's bytes, to
 * a real nginx listening with `proxy_protocol`, which answers with the
 * client address and port it read: they must be the client's own.
 */
async function startNginx(t: Test, ports: number[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'portier-nginx-'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((d) => `${d}_temp_path ${join(dir, d)};`).join(' ');
  const servers = ports.map((p) => `server { listen 127.0.0.1:${p} proxy_protocol; location / { default_type text/plain; return 200 "$proxy_protocol_addr $proxy_protocol_port\\n"; } }`).join('\n');
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;\nworker_processes 1;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')} warn;\nevents { worker_connections 64; }\nhttp { access_log off; ${temp}\n${servers}\n}\n`);
  const proc = spawn('nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  t.teardown(async () => {
    if (proc.exitCode === null) await new Promise((r) => (proc.once('exit', r), proc.kill('SIGQUIT')));
    rmSync(dir, { recursive: true, force: true });
  });
  for (const p of ports) {
    const deadline = Date.now() + 10_000;
    while (!(await new Promise<boolean>((r) => net.connect(p, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false))))) {
      if (Date.now() > deadline) throw new Error(`nginx not listening on ${p}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** One HTTP/1.0 GET over a raw connection; returns the body and the client's own port. */
function ask(port: number): Promise<{ body: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let localPort = 0;
    s.on('connect', () => {
      localPort = s.localPort ?? 0;
      s.write('GET / HTTP/1.0\r\nHost: pp\r\n\r\n');
    });
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve({ body: text.split('\r\n\r\n')[1] ?? text, localPort }));
  });
}

t.test('PROXY protocol v1 and v2 to nginx', async (t) => {
  if (!existsSync('/usr/sbin/nginx')) {
    if (process.env.CI === 'true') t.fail('nginx required under CI (apt-get install nginx-light)');
    else t.plan(0, 'nginx not installed');
    return;
  }
  const [v1, v2, v3] = [await freePort(), await freePort(), await freePort()];
  await startNginx(t, [v1, v2, v3]);
  const { portier } = await startPortierFromFiles(t, {
    'portier.yaml': 'entryPoints:\n  one: { address: "127.0.0.1:0" }\n  two: { address: "127.0.0.1:0" }\n  three: { address: "127.0.0.1:0" }\n'
      + 'tcpServersTransport: { proxyProtocol: { version: 1 } }\nproviders:\n  file: { filename: dynamic.yaml }\n',
    'dynamic.yaml': `
tcp:
  routers:
    one: { entryPoints: [one], rule: "HostSNI(\`*\`)", service: one }
    two: { entryPoints: [two], rule: "HostSNI(\`*\`)", service: two }
    three: { entryPoints: [three], rule: "HostSNI(\`*\`)", service: three }
  services:
    one: { loadBalancer: { servers: [{ address: "127.0.0.1:${v1}" }], serversTransport: v1 } }
    two: { loadBalancer: { servers: [{ address: "127.0.0.1:${v2}" }], serversTransport: v2 } }
    three: { loadBalancer: { servers: [{ address: "127.0.0.1:${v3}" }] } }
  serversTransports:
    v1: { proxyProtocol: { version: 1 } }
    v2: { proxyProtocol: { version: 2 } }
`,
  });
  for (const [ep, what] of [['one', 'PROXY v1'], ['two', 'PROXY v2'], ['three', 'the static tcpServersTransport\'s PROXY v1']]) {
    const { body, localPort } = await ask(portier.gateway.port(ep));
    t.equal(body, `127.0.0.1 ${localPort}\n`, `${what}: nginx sees the client's address and port`);
  }
});
