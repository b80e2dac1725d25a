/**
 * Starts Debian's pebble (ACME test CA) with pebble-challtestsrv as its DNS
 * (every name → 127.0.0.1), on free ports, following
 * shared/recipes/acme-pebble.md. The HTTP-01 and TLS-ALPN-01 ports are where
 * the test's own servers must listen.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Pebble {
  directoryUrl: string;
  /** Pebble's root CA, made anew at every start: the trust anchor for issued certificates. */
  rootPem: string;
  /** Pebble's own HTTPS certificate (ACME API). */
  pebbleCertPem: string;
  /** Pebble's management API (`/roots/<n>`, `/intermediates/<n>`, `/cert-status-by-serial/<hex>`). */
  managementUrl: string;
  /** GET on the management API. */
  management(path: string): Promise<{ status: number; body: string }>;
  httpPort: number;
  tlsPort: number;
  /** New orders pebble has received since it started (failed ones included). */
  ordersCount(): number;
  /** Certificates pebble has issued since it started. */
  issuedCount(): number;
  /** HTTP-01 validation requests pebble made (3 per name: it validates from 3 "vantage points"). */
  httpValidations(): number;
  /** DNS-01 validation requests pebble made (3 per name). */
  dnsValidations(): number;
  log(): string;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  validitySeconds?: number;
  httpPort?: number;
  tlsPort?: number;
  /** More environment for pebble (PEBBLE_ALTERNATE_ROOTS, …). */
  env?: Record<string, string>;
  /** More keys for pebble's config (externalAccountBindingRequired, externalAccountMACKeys, …). */
  extraConfig?: Record<string, unknown>;
  /** `host:port` of a DNS server pebble resolves through (a test's BIND, for DNS-01) instead of pebble-challtestsrv. */
  dnsServer?: string;
}

/** Why pebble cannot run here, or undefined when it can. */
export function pebbleMissing(): string | undefined {
  for (const bin of ['/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', '/usr/bin/openssl']) {
    if (!fs.existsSync(bin)) return `${bin} is not installed (apt-get install pebble openssl; test/setup/install.sh does it)`;
  }
  return undefined;
}

/** Skips the file loudly when pebble is missing, except under CI=true where that is a failure. */
export function requirePebble(t: { fail(msg: string): void; plan(n: number, msg?: string): void }): boolean {
  const missing = pebbleMissing();
  if (!missing) return true;
  if (process.env.CI === 'true') {
    t.fail(`pebble required under CI: ${missing}`);
  } else {
    process.stderr.write(`\n*** SKIPPING ACME tests: ${missing} ***\n\n`);
    t.plan(0, `skipped: ${missing}`);
  }
  return false;
}

export async function freePort(udpToo = false): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (!udpToo) return port;
    const ok = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startPebble(opts: PebbleOptions = {}): Promise<Pebble> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-pebble-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'pebble-key.pem'), '-out', path.join(dir, 'pebble-cert.pem'), '-days', '3650',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
  ], { stdio: 'ignore' });
  const pebbleCertPem = fs.readFileSync(path.join(dir, 'pebble-cert.pem'), 'utf8');
  const [acmePort, mgmtPort, dnsPort, dnsMgmtPort] = [await freePort(), await freePort(), await freePort(true), await freePort()];
  const httpPort = opts.httpPort ?? (await freePort());
  const tlsPort = opts.tlsPort ?? (await freePort());
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: path.join(dir, 'pebble-cert.pem'),
      privateKey: path.join(dir, 'pebble-key.pem'),
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
      ...opts.extraConfig,
    },
  };
  fs.writeFileSync(path.join(dir, 'pebble-config.json'), JSON.stringify(config));

  const dnsLog = fs.openSync(path.join(dir, 'challtestsrv.log'), 'w');
  // With a DNS server of the test's own, challtestsrv serves nothing (its DNS goes unused).
  const dns = spawn('/usr/bin/pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '',
    '-management', `127.0.0.1:${dnsMgmtPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
  ], { cwd: dir, stdio: ['ignore', dnsLog, dnsLog] });
  const dnsServer = opts.dnsServer ?? `127.0.0.1:${dnsPort}`;
  const pebbleLog = path.join(dir, 'pebble.log');
  const logFd = fs.openSync(pebbleLog, 'w');
  const pebble = spawn('/usr/bin/pebble', ['-config', path.join(dir, 'pebble-config.json'), '-dnsserver', dnsServer], {
    cwd: dir,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0', ...opts.env },
  });
  fs.closeSync(dnsLog);
  fs.closeSync(logFd);
  const log = (): string => fs.readFileSync(pebbleLog, 'utf8');
  const stop = async (): Promise<void> => {
    await Promise.all([stopChild(pebble), stopChild(dns)]);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      // A pebble that lost a port race logs "Listening" and then exits: check it is alive (gotcha 2).
      if (pebble.exitCode !== null || dns.exitCode !== null) throw new Error(`pebble exited: ${log()}`);
      const ready = await get(directoryUrl, pebbleCertPem).then((r) => r.status === 200, () => false);
      const dnsReady = await new Promise<boolean>((resolve) => {
        const s = net.connect(dnsPort, '127.0.0.1', () => s.end(() => resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (ready && dnsReady) break;
      if (Date.now() > deadline) throw new Error(`pebble not ready after 30 s: ${log()}`);
      await sleep(100);
    }
    const managementUrl = `https://127.0.0.1:${mgmtPort}`;
    const root = await get(`${managementUrl}/roots/0`, pebbleCertPem);
    if (root.status !== 200) throw new Error(`pebble root: HTTP ${root.status}`);
    return {
      directoryUrl,
      rootPem: root.body,
      pebbleCertPem,
      managementUrl,
      management: (p: string) => get(managementUrl + p, pebbleCertPem),
      httpPort,
      tlsPort,
      ordersCount: () => (log().match(/POST \/order-plz /g) ?? []).length,
      issuedCount: () => (log().match(/Issued certificate serial/g) ?? []).length,
      httpValidations: () => (log().match(/Attempting to validate w\/ HTTP/g) ?? []).length,
      dnsValidations: () => (log().match(/Attempting to validate w\/ DNS/g) ?? []).length,
      log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
