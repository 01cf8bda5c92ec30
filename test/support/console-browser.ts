import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Chromium as the machine has it (Debian's `chromium` package, found on the PATH; `CHROMIUM_PATH`
 * overrides): no browser is downloaded. The flags keep it off the network, which is closed here.
 */
export function findChromium(): string {
  const override = process.env.CHROMIUM_PATH;
  if (override) return override;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  throw new Error('No chromium on the PATH: install it (apt-get install -y chromium) or set CHROMIUM_PATH.');
}

/** One headless browser; playwright gives it a fresh, empty profile (`--user-data-dir`) of its own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page of the console with everything it did recorded. */
export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Every URL the page requested, in order (documents, scripts, styles, API calls, images). */
  requests: string[];
  /** Uncaught exceptions and `console.error` messages. */
  errors: string[];
  /** Content-Security-Policy violations the page reported. */
  cspViolations(): Promise<string[]>;
  /** Opens `#<hash>` of the console, always as a fresh load of the page. */
  open(hash?: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens the console of a runtime in its own browser context (its own sessionStorage). */
export async function openConsole(
  browser: Browser,
  consoleUrl: string,
  options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
): Promise<ConsolePage> {
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1280, height: 900 },
    timezoneId: 'Europe/Paris',
    locale: 'en-GB',
  });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  // Init scripts are run by the browser itself, not by the page, so the page's CSP does not stop them.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (globalThis as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    // The test files are type-checked without the DOM library: the page's globals are described here.
    const page = globalThis as unknown as {
      document: {
        addEventListener(
          type: 'securitypolicyviolation',
          listener: (event: { violatedDirective: string; blockedURI: string }) => void,
        ): void;
      };
    };
    page.document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return {
    page,
    context,
    requests,
    errors,
    cspViolations: () =>
      page.evaluate(() => (globalThis as unknown as { __cspViolations: string[] }).__cspViolations),
    open: async (hash = '') => {
      // A change of the fragment alone would not reload the page: leave it first, so every open is a
      // fresh load (sessionStorage, and so the sign-in, stays with the tab).
      if (page.url().startsWith(consoleUrl)) await page.goto('about:blank');
      await page.goto(`${consoleUrl}${hash ? `#${hash}` : ''}`);
    },
    close: () => context.close(),
  };
}

/** Signs in with `apiKey` and waits for the signed-in console (the view the URL names). */
export async function signIn(page: Page, apiKey: string): Promise<void> {
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

let axeSource: Promise<string> | undefined;

/** One accessibility problem axe-core found, with where. */
export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (the pinned devDependency) on the page as it is now and returns its serious and critical
 * findings. The script is evaluated through the DevTools protocol, so the page's CSP (no inline script)
 * stays in force.
 */
export async function seriousAxeFindings(page: Page): Promise<AxeFinding[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const source = await axeSource;
  const loaded = await page.evaluate(() => 'axe' in globalThis);
  if (!loaded) await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            context: unknown,
            options: unknown,
          ) => Promise<{
            violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const { document } = globalThis as unknown as { document: unknown };
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.map((node) => node.target.map(String).join(' ')),
      }));
  });
}
