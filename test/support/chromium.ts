import { existsSync } from 'node:fs';
import type * as PlaywrightCore from 'playwright-core';
import type { Browser } from 'playwright-core';
import { stackEnv } from './stack.js';

type Playwright = typeof PlaywrightCore;

/** `playwright-core` when installed (a dev dependency), else undefined. */
const playwright: Playwright | undefined = await import('playwright-core').then(
  (m) => m,
  () => undefined,
);

/** The Chromium the web tests drive: $CHROMIUM_BIN, the stack's CHROMIUM_BIN, or the Debian package's. */
const CHROMIUM = process.env.CHROMIUM_BIN ?? stackEnv().CHROMIUM_BIN ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Why the browser tests cannot run here (no playwright-core, no Chromium), or undefined when they can. */
export const chromiumSkipReason: string | undefined = !playwright
  ? 'playwright-core is not installed (npm i -D playwright-core)'
  : !existsSync(CHROMIUM)
    ? `no Chromium at ${CHROMIUM} (set CHROMIUM_BIN)`
    : undefined;

/** Launches headless Chromium; call only when `chromiumSkipReason` is undefined. */
export function launchChromium(): Promise<Browser> {
  if (!playwright) throw new Error(`cannot launch Chromium: ${chromiumSkipReason}`);
  return playwright.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
