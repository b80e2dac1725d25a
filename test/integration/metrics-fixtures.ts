/**
 * A real Portier (startPortier, as the CLI runs it) from YAML written to a
 * temporary folder, every entrypoint on 127.0.0.1:0, plus a self-signed
 * certificate made by openssl so certificate metrics and panels have data.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadStaticConfig } from '../../src/config/load';
import { startPortier, Portier } from '../../src/app';
import { silentLogger } from '../../src/log/logger';

export interface RunningPortier {
  portier: Portier;
  dir: string;
  url(entryPoint: string): string;
  /** Rewrites dynamic.yaml; the file provider picks it up. */
  writeDynamic(yaml: string): void;
  close(): Promise<void>;
}

export function selfSignedCert(dir: string, cn: string): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, `${cn}.crt`);
  const keyFile = path.join(dir, `${cn}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn},DNS:www.${cn}`, '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { certFile, keyFile };
}

/** `staticYaml` is the static config minus entrypoint addresses and providers (added here). */
export async function startPortierFromYaml(staticYaml: string, dynamicYaml: string, entryPoints = ['web', 'traefik', 'metrics']): Promise<RunningPortier> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-obs-'));
  fs.writeFileSync(path.join(dir, 'dynamic.yaml'), dynamicYaml);
  const eps = entryPoints.map((ep) => `  ${ep}:\n    address: "127.0.0.1:0"\n`).join('');
  fs.writeFileSync(
    path.join(dir, 'portier.yaml'),
    `entryPoints:\n${eps}providers:\n  providersThrottleDuration: 10ms\n  file:\n    filename: dynamic.yaml\n    watch: true\ndataDir: ${dir}/data\n${staticYaml}`,
  );
  const { config, file } = loadStaticConfig({ file: path.join(dir, 'portier.yaml'), flags: [], env: {} });
  const portier = await startPortier(config, silentLogger, { baseDir: path.dirname(file ?? dir) });
  if (/routers:/.test(dynamicYaml)) {
    await until('the file provider routes', () => [...portier.gateway.table.routers.values()].some((r) => r.provider === 'file'));
  }
  return {
    portier,
    dir,
    url: (ep) => `http://127.0.0.1:${portier.gateway.port(ep)}`,
    writeDynamic: (yaml) => fs.writeFileSync(path.join(dir, 'dynamic.yaml'), yaml),
    async close() {
      await portier.close(500);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` (true when done) every 100 ms, up to `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
