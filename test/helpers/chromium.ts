/**
 * Debian's chromium, headless, driven by playwright-core (never a browser
 * download), with a fresh profile directory removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Skips the file loudly when chromium is missing, except under CI=true where that is a failure. */
export function requireChromium(t: { fail(msg: string): void; plan(n: number, msg?: string): void }): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  const why = `${CHROMIUM} is not installed (apt-get install chromium; test/setup/install.sh does it)`;
  if (process.env.CI === 'true') t.fail(`chromium required under CI: ${why}`);
  else {
    process.stderr.write(`\n*** SKIPPING browser tests: ${why} ***\n\n`);
    t.plan(0, `skipped: ${why}`);
  }
  return false;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** `ignoreHTTPSErrors`: a test's own certificates (no CA the browser trusts) are accepted. */
export async function startChromium(opts: { ignoreHTTPSErrors?: boolean } = {}): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'portier-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    ignoreHTTPSErrors: opts.ignoreHTTPSErrors ?? false,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    viewport: { width: 1400, height: 1000 },
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
