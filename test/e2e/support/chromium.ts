import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { Browser } from 'puppeteer-core';

/** Debian's chromium package (`npx projen setup` installs it: .ci/install-chromium.sh). */
export const CHROMIUM = '/usr/bin/chromium';
/** Chromium as this machine runs it: without the background-networking flags its connections out are refused, many at a time. */
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A headless Chromium with a throwaway profile; `close()` ends it and removes the profile. */
export interface HeadlessChromium {
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Starts headless Chromium, or fails with the install command when it is missing. */
export async function launchChromium(): Promise<HeadlessChromium> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed (${CHROMIUM}): run "npx projen setup", which installs Debian's chromium package (.ci/install-chromium.sh)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'cdk-cable-chromium-'));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, userDataDir: profile, args: CHROMIUM_ARGS });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
