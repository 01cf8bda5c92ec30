import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsolePage, launchBrowser, openConsole, signIn } from '../support/console-browser.js';
import { startRuntimeWithClient, type TestRuntime } from '../support/local-runtime.js';

/**
 * The jobs view with a thousand jobs, created through the API: paged, with run statistics read only for
 * the rows on screen, refreshing in place without moving focus or scroll, and not polling while hidden.
 */
const JOBS = 1000;
const name = (index: number) => `Job ${String(index).padStart(4, '0')}`;

let runtime: TestRuntime;
let browser: Browser;
let opened: ConsolePage;
let page: Page;

beforeAll(async () => {
  let client: Awaited<ReturnType<typeof startRuntimeWithClient>>['client'];
  ({ runtime, client } = await startRuntimeWithClient());
  // A few writers at once: DynamoDB Local takes a few hundred writes a second.
  const pending = Array.from({ length: JOBS }, (_, index) => index);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let index = pending.shift(); index !== undefined; index = pending.shift()) {
        await client.jobs.create({ name: name(index), trigger_type: 'manual', prompt_template: 'x' });
      }
    }),
  );
  browser = await launchBrowser();
  opened = await openConsole(browser, runtime.consoleUrl);
  page = opened.page;
  // The test decides whether the page is visible: the page reads document.visibilityState.
  await page.addInitScript(() => {
    const page = globalThis as unknown as { __hidden?: boolean; document: object };
    Object.defineProperty(page.document, 'visibilityState', {
      get: () => (page.__hidden ? 'hidden' : 'visible'),
    });
  });
  await opened.open();
  await signIn(page, runtime.apiKey);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.cleanup();
});

const rows = () => page.locator('table.jobs tbody tr');
const statsRequests = () => opened.requests.filter((url) => /\/jobs\/[^/?]+\/executions\?/.test(url)).length;
const listRequests = () => opened.requests.filter((url) => /\/jobs\?/.test(url)).length;

async function setHidden(hidden: boolean): Promise<void> {
  await page.evaluate(
    `globalThis.__hidden = ${hidden}; document.dispatchEvent(new Event('visibilitychange'))`,
  );
}

describe('the jobs view with 1,000 jobs', () => {
  it('pages through every job, reading run statistics only for the rows on screen', async () => {
    // Prepare
    await page.getByText('50 jobs loaded; more below.').waitFor();

    // Act
    for (let loaded = 50; loaded < JOBS; loaded += 50) {
      await page.getByRole('button', { name: 'Load 50 more jobs' }).click();
      await expect.poll(() => rows().count()).toBe(loaded + 50);
    }

    // Assess
    await page.getByText(`${JOBS} jobs.`).waitFor();
    expect(await page.getByRole('button', { name: 'Load 50 more jobs' }).count()).toBe(0);
    const names = await rows().locator('th').allTextContents();
    expect(new Set(names)).toEqual(new Set(Array.from({ length: JOBS }, (_, index) => name(index))));
    // Each page scrolled its last rows into view on the way to the button, and no more.
    expect(statsRequests()).toBeGreaterThan(0);
    expect(statsRequests()).toBeLessThan(JOBS / 2);
  }, 120_000);

  it('searches the loaded jobs by name', async () => {
    // Act
    await page.getByLabel('Search by name').fill('job 0123');

    // Assess
    await expect.poll(() => rows().locator('th').allTextContents()).toEqual([name(123)]);
    expect(await page.getByText('1 of 1000 loaded jobs match').count()).toBe(1);
    await page.getByLabel('Search by name').fill('');
    await expect.poll(() => rows().count()).toBe(JOBS);
  });

  it('refreshes in place: the focused row keeps focus and the page keeps its scroll position', async () => {
    // Prepare
    const link = page.getByRole('link', { name: name(500), exact: true });
    await link.focus();
    const scrollBefore = await page.evaluate('window.scrollY');
    const live = page.locator('.live');
    const updatedBefore = await live.textContent();
    const listBefore = listRequests();

    // Act: wait for the next refresh to read all thousand rows (10 pages of 100) and show its time. The
    // time shown can change before the refresh (it says how long ago the last one was), so the pages come first.
    await expect.poll(() => listRequests() - listBefore, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    await expect.poll(() => live.textContent(), { timeout: 20_000 }).not.toBe(updatedBefore);

    // Assess: nothing moved
    expect(await page.evaluate('document.activeElement?.textContent')).toBe(name(500));
    expect(await page.evaluate('window.scrollY')).toBe(scrollBefore);
    expect(await rows().count()).toBe(JOBS);
  }, 30_000);

  it('stops polling while the tab is hidden and refreshes as soon as it is shown', async () => {
    // Act: hidden for longer than a refresh interval
    await setHidden(true);
    // A refresh already under way finishes its pages; no new one may start while hidden.
    let seen = listRequests();
    await expect
      .poll(
        () => {
          const now = listRequests();
          const settled = now === seen;
          seen = now;
          return settled;
        },
        { timeout: 10_000, interval: 1_000 },
      )
      .toBe(true);
    const before = listRequests();
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const whileHidden = listRequests() - before;
    const refreshed = page.waitForRequest((request) => /\/jobs\?/.test(request.url()));
    await setHidden(false);
    await refreshed;

    // Assess
    expect(whileHidden).toBe(0);
  }, 45_000);
});
