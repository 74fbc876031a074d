// Headless Chromium for the UI's end-to-end tests and bench/ui.ts: Debian's chromium, driven by
// playwright-core (which downloads no browser of its own).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'ui-screenshots');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let found: { path?: string; reason?: string; required: boolean } | undefined;

/**
 * Chromium's path: MLFLOW_TS_TEST_CHROMIUM (scripts/test.sh exports it), else what
 * scripts/services/chromium.sh start finds or installs. Without one, the reason; `required` is true
 * under CI (CI=true), where the UI tests must then fail rather than be skipped.
 */
export function chromiumPath(): { path?: string; reason?: string; required: boolean } {
  if (found) return found;
  const required = process.env.CI === 'true';
  const fromEnv = process.env.MLFLOW_TS_TEST_CHROMIUM;
  if (fromEnv) {
    found = existsSync(fromEnv)
      ? { path: fromEnv, required }
      : { reason: `MLFLOW_TS_TEST_CHROMIUM=${fromEnv} does not exist`, required };
    return found;
  }
  try {
    const p = execFileSync('bash', [path.join(REPO_ROOT, 'scripts/services/chromium.sh'), 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    found = { path: p, required };
  } catch (error) {
    found = {
      reason: `Chromium could not be found or installed (scripts/services/chromium.sh start): ${error}`,
      required,
    };
  }
  return found;
}

/** The skip option for node:test: skip with the reason outside CI; under CI the tests run and fail. */
export function skipWithoutChromium(): string | false {
  const c = chromiumPath();
  return c.path || c.required ? false : (c.reason ?? 'no Chromium');
}

export async function launchChromium(): Promise<Browser> {
  const c = chromiumPath();
  if (!c.path) throw new Error(c.reason ?? 'no Chromium');
  return chromium.launch({ executablePath: c.path, headless: true, args: CHROMIUM_ARGS });
}

/** Saves a full-page screenshot under test-results/ui-screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
