import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EntityWithSecret, signWebhookPayload } from '../../sdk/index.js';
import { type AgentServer, startAgentServer } from '../support/agent-server.js';
import {
  type ConsolePage,
  launchBrowser,
  openConsole,
  seriousAxeFindings,
  signIn,
} from '../support/console-browser.js';
import { startRuntimeWithClient, type TestRuntime, waitForExecution } from '../support/local-runtime.js';

/**
 * The console in Debian's Chromium against the real local runtime: one browser and one signed-in page
 * for the file (each test goes to its view by URL), plus fresh contexts where sign-in itself is tested.
 */
let runtime: TestRuntime;
let client: Awaited<ReturnType<typeof startRuntimeWithClient>>['client'];
let browser: Browser;
let main: ConsolePage;
let page: Page;
const pages: ConsolePage[] = [];
const agents: AgentServer[] = [];
/** Alerts, confirms and prompts the page opened: an injected `onerror=alert(1)` would show here. */
const dialogs: string[] = [];
const XSS_NAME = '<img src=x onerror=alert(1)>';

async function open(colorScheme: 'light' | 'dark' = 'light'): Promise<ConsolePage> {
  const opened = await openConsole(browser, runtime.consoleUrl, { colorScheme });
  opened.page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  pages.push(opened);
  return opened;
}

/** Goes to a view of the signed-in page and waits for its heading. */
async function go(hash: string, heading: string | RegExp): Promise<void> {
  await main.open(hash);
  await page.getByRole('heading', { level: 1, name: heading, exact: typeof heading === 'string' }).waitFor();
}

async function expectNoSeriousAxeFindings(target: Page = page): Promise<void> {
  expect(await seriousAxeFindings(target)).toEqual([]);
}

/** An http agent entity on a local agent server that answers as scripted. */
async function agentEntity(name: string): Promise<{ agent: AgentServer; entityId: string }> {
  const agent = await startAgentServer();
  agents.push(agent);
  const entity = (await client.entities.create({
    type: 'agent',
    name,
    target: { type: 'http', url: agent.url },
  })) as EntityWithSecret;
  agent.signingSecret = entity.signing_secret;
  return { agent, entityId: entity.id };
}

beforeAll(async () => {
  ({ runtime, client } = await startRuntimeWithClient());
  browser = await launchBrowser();
  main = await open();
  page = main.page;
  await main.open();
  await signIn(page, runtime.apiKey);
}, 60_000);

afterAll(async () => {
  for (const agent of agents) agent.release();
  await Promise.all(agents.map((agent) => agent.close()));
  await browser?.close();
  await runtime?.cleanup();
});

describe('the console', () => {
  it('loads without a key; a wrong key shows the error and nothing else; sign out forgets the key', async () => {
    // Prepare
    const fresh = await open();
    await fresh.open();

    // Act: a wrong key
    await fresh.page.getByLabel('API key').fill('sjk_wrong');
    await fresh.page.getByRole('button', { name: 'Sign in' }).click();
    const alert = fresh.page.getByRole('alert');
    await alert.waitFor();

    // Assess
    expect(await fresh.page.getByLabel('API key').getAttribute('type')).toBe('password');
    expect(await alert.textContent()).toContain('401');
    expect(await fresh.page.getByRole('navigation').count()).toBe(0);
    expect(await fresh.page.getByRole('table').count()).toBe(0);
    expect(await fresh.page.evaluate('sessionStorage.length')).toBe(0);
    await expectNoSeriousAxeFindings(fresh.page);

    // Act: the right key, then sign out
    await fresh.page.getByLabel('API key').fill(runtime.apiKey);
    await fresh.page.getByRole('button', { name: 'Sign in' }).click();
    await fresh.page.getByRole('heading', { level: 1, name: 'Jobs', exact: true }).waitFor();
    const stored = await fresh.page.evaluate(
      '({ session: Object.values({ ...sessionStorage }), local: localStorage.length, cookies: document.cookie })',
    );
    await fresh.page.getByRole('button', { name: 'Sign out' }).click();
    await fresh.page.getByLabel('API key').waitFor();

    // Assess
    expect(stored).toEqual({ session: [runtime.apiKey], local: 0, cookies: '' });
    expect(await fresh.page.evaluate('sessionStorage.length')).toBe(0);
    await fresh.close();
  }, 60_000);

  it('lists jobs with their trigger, state, schedule in words and next fire, filtered by trigger, state and name', async () => {
    // Prepare
    const tag = randomBytes(3).toString('hex');
    await client.jobs.create({
      name: `Nightly ${tag}`,
      trigger_type: 'cron',
      cron_schedule: '30 2 * * 1-5',
      cron_timezone: 'America/New_York',
      prompt_template: 'Report',
    });
    await client.jobs.create({ name: `Hook ${tag}`, trigger_type: 'webhook', prompt_template: 'Deploy' });
    await client.jobs.create({
      name: `Paused ${tag}`,
      trigger_type: 'manual',
      prompt_template: 'Hi',
      enabled: false,
    });
    await go('/jobs', 'Jobs');
    const rows = page.locator('table.jobs tbody tr');
    const names = async () =>
      (await rows.locator('th').allTextContents()).filter((name) => name.includes(tag));

    // Act, Assess: the cron row
    const cronRow = rows.filter({ hasText: `Nightly ${tag}` });
    await cronRow.waitFor();
    expect(await cronRow.textContent()).toContain('at 02:30, on Mon–Fri');
    expect(await cronRow.textContent()).toContain('30 2 * * 1-5 · America/New_York');
    expect(await cronRow.textContent()).toMatch(/02:30:00 GMT-[45]/);
    expect(await cronRow.textContent()).toMatch(/your time/);
    // Read lazily once the row is on screen
    await expect.poll(() => cronRow.textContent()).toContain('no runs yet');
    expect(await names()).toEqual([`Paused ${tag}`, `Hook ${tag}`, `Nightly ${tag}`]);
    await expectNoSeriousAxeFindings();

    // Act, Assess: by trigger type, by state, by name
    await page.getByLabel('Trigger type').selectOption('cron');
    await expect.poll(names).toEqual([`Nightly ${tag}`]);
    await page.getByLabel('Trigger type').selectOption('');
    await page.getByLabel('Enabled').selectOption('false');
    await expect.poll(names).toEqual([`Paused ${tag}`]);
    expect(await rows.filter({ hasText: `Paused ${tag}` }).textContent()).toContain('disabled');
    await page.getByLabel('Enabled').selectOption('');
    await page.getByLabel('Search by name').fill(`hook ${tag}`);
    await expect.poll(names).toEqual([`Hook ${tag}`]);
    expect(page.url()).toContain(`q=hook`);
  }, 60_000);

  it('shows a job named like markup as text, running nothing', async () => {
    // Prepare
    const job = await client.jobs.create({
      name: XSS_NAME,
      trigger_type: 'manual',
      prompt_template: XSS_NAME,
    });
    await client.jobs.trigger(job.id);

    // Act
    await go('/jobs', 'Jobs');
    const row = page.locator('table.jobs tbody tr', { hasText: XSS_NAME });
    await row.waitFor();
    await main.open(`/jobs/${job.id}`);
    await page.getByRole('heading', { level: 1, name: XSS_NAME }).waitFor();

    // Assess
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(XSS_NAME);
    expect(await page.locator('pre', { hasText: XSS_NAME }).first().textContent()).toBe(XSS_NAME);
    expect(dialogs).toEqual([]);
  }, 60_000);

  it('creates a cron job while previewing its fires, with skipped and repeated local times flagged', async () => {
    // Prepare
    await go('/jobs/new', 'New job');
    await expectNoSeriousAxeFindings();
    const name = `Cron ${randomBytes(3).toString('hex')}`;

    // Act: spring forward in New York (14 March 2027, 02:30 does not exist)
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Cron schedule').check();
    await page.getByLabel('Time zone').fill('America/New_York');
    await page.getByLabel('Cron expression').fill('30 2 14 3 *');
    const preview = page.getByRole('region', { name: 'Next fires' });
    await preview.getByText('skipped').first().waitFor();

    // Assess
    expect(await preview.textContent()).toContain('2027-03-14 02:30 does not exist in America/New_York');
    expect(await preview.textContent()).toContain('Runs at 02:30, on day 14 of the month, in Mar');
    await expectNoSeriousAxeFindings();

    // Act: fall back (7 November 2027, 01:30 happens twice)
    await page.getByLabel('Cron expression').fill('30 1 7 11 *');
    await preview.getByText('repeated local time').first().waitFor();
    expect(await preview.locator('li', { hasText: '2027-11-07 01:30' }).textContent()).toContain(
      'repeated local time',
    );

    // Act: create it
    await page.getByLabel('Prompt template').fill('Report for {{ team }}');
    await page.getByRole('button', { name: 'Create job' }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();

    // Assess
    const created = (await client.jobs.list({ trigger_type: 'cron' })).find((job) => job.name === name);
    expect(created).toMatchObject({
      cron_schedule: '30 1 7 11 *',
      cron_timezone: 'America/New_York',
      prompt_template: 'Report for {{ team }}',
      enabled: true,
    });
    expect(await page.getByRole('region', { name: 'Schedule' }).textContent()).toContain(
      'Runs at 01:30, on day 7 of the month, in Nov',
    );
    await expectNoSeriousAxeFindings();
  }, 60_000);

  it("shows the API's 422 next to the field it names", async () => {
    // Prepare
    await go('/jobs/new', 'New job');

    // Act: a name of spaces (the service trims it) and an expression that cannot fire
    await page.getByLabel('Name', { exact: true }).fill('   ');
    await page.getByLabel('Prompt template').fill('x');
    await page.getByRole('button', { name: 'Create job' }).click();
    const nameError = page.locator('#job-name-error');
    await nameError.waitFor();

    // Assess
    expect(await nameError.textContent()).toContain('must not be empty');
    expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-describedby')).toContain(
      'job-name-error',
    );
    await expectNoSeriousAxeFindings();

    // Act: fix the name, break the schedule
    await page.getByLabel('Name', { exact: true }).fill('Never');
    await page.getByLabel('Cron schedule').check();
    await page.getByLabel('Cron expression').fill('0 0 30 2 *');
    await page.getByRole('button', { name: 'Create job' }).click();
    await expect.poll(() => page.locator('#job-cron-error').textContent()).toContain('never fires');
    expect(await page.locator('#job-name-error').count()).toBe(0);
  }, 60_000);

  it('runs a job now with parameters and shows the run until it succeeds, with its rendered prompt', async () => {
    // Prepare
    const job = await client.jobs.create({
      name: 'Greeter',
      trigger_type: 'manual',
      prompt_template: 'Hello {{ who }} from {{ team.name }}',
    });
    await go(`/jobs/${job.id}`, 'Greeter');
    await page.getByText('No runs yet').first().waitFor();
    await expectNoSeriousAxeFindings();

    // Act
    await page.getByRole('button', { name: 'Run now…' }).click();
    expect(await page.evaluate('document.activeElement?.id')).toBe('param-who');
    await page.getByLabel('who').fill('Ada');
    await page.getByLabel('team.name').fill('core');
    await page.getByLabel('Config override (JSON, optional)').fill('{"timeout": 600}');
    await page.getByRole('region', { name: 'Run now' }).getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('heading', { level: 1, name: /^Run exec_/ }).waitFor();
    await page.locator('.big-status', { hasText: 'succeeded' }).waitFor();

    // Assess
    expect(await page.getByTestId('rendered-prompt').textContent()).toBe('Hello Ada from core');
    expect(await page.getByRole('region', { name: 'Parameters' }).textContent()).toContain('"timeout": 600');
    const runs = await client.jobs.getExecutions(job.id);
    expect(runs.executions).toHaveLength(1);
    expect(runs.executions[0]).toMatchObject({
      status: 'succeeded',
      parameters: { who: 'Ada', team: { name: 'core' } },
      config: { timeout: 600 },
    });
    await expectNoSeriousAxeFindings();

    // Act, Assess: the job page now shows it in its strip and history
    await go(`/jobs/${job.id}`, 'Greeter');
    const strip = page.getByRole('list', { name: /The last 1 runs/ });
    await strip.waitFor();
    expect(await strip.textContent()).toContain('succeeded');
    expect(await page.getByRole('region', { name: 'History' }).textContent()).toContain('1 run in all');
  }, 60_000);

  it("shows a failing run's error", async () => {
    // Prepare: the agent refuses every request with a 400
    const { agent, entityId } = await agentEntity('Refusing agent');
    agent.script({ kind: 'status', status: 400, body: 'unknown repository' });
    const job = await client.jobs.create({
      name: 'Refused',
      trigger_type: 'manual',
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: entityId,
      prompt_template: 'Build',
    });
    const { execution_id } = await client.jobs.trigger(job.id);

    // Act
    await go(`/jobs/${job.id}/runs/${execution_id}`, /^Run exec_/);
    await page.locator('.big-status', { hasText: 'failed' }).waitFor();

    // Assess
    const error = page.getByRole('region', { name: 'Error' });
    expect(await error.textContent()).toContain('400');
    await expectNoSeriousAxeFindings();
  }, 60_000);

  it('lists runs across jobs newest first, shows failures in one click, and replays a failed run', async () => {
    // Prepare: a job whose agent refuses, and a job that succeeds after it
    const { agent, entityId } = await agentEntity('Flaky agent');
    agent.script({ kind: 'status', status: 400, body: 'not configured yet' });
    const tag = randomBytes(3).toString('hex');
    const flaky = await client.jobs.create({
      name: `Flaky ${tag}`,
      trigger_type: 'manual',
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: entityId,
      prompt_template: 'Sync {{ target }}',
    });
    const fine = await client.jobs.create({
      name: `Fine ${tag}`,
      trigger_type: 'manual',
      prompt_template: 'Ok',
    });
    const failed = await client.jobs.trigger(flaky.id, {
      parameters: { target: 'crm' },
      config_override: { timeout: 600 },
    });
    await waitForExecution(client, flaky.id, failed.execution_id);
    const succeeded = await client.jobs.trigger(fine.id);
    await waitForExecution(client, fine.id, succeeded.execution_id);
    await go('/runs', 'Runs');
    const rows = page.locator('table tbody tr');
    const ours = async () =>
      (await rows.locator('th').allTextContents()).filter((name) => name.endsWith(tag));

    // Act, Assess: every job's runs, newest first; then failed and timed-out runs only, in one click
    await expect.poll(ours).toEqual([`Fine ${tag}`, `Flaky ${tag}`]);
    await page.getByRole('button', { name: 'Failed and timed out' }).click();
    await expect.poll(ours).toEqual([`Flaky ${tag}`]);
    expect(await page.getByLabel('failed', { exact: true }).isChecked()).toBe(true);
    expect(await page.getByLabel('timed out', { exact: true }).isChecked()).toBe(true);
    expect(await page.getByLabel('succeeded', { exact: true }).isChecked()).toBe(false);
    expect(await rows.filter({ hasText: `Flaky ${tag}` }).textContent()).toContain('failed');
    await expectNoSeriousAxeFindings();

    // Act: open the failed run, fix the agent, replay it
    await rows
      .filter({ hasText: `Flaky ${tag}` })
      .getByRole('link', { name: failed.execution_id })
      .click();
    await page.getByRole('heading', { level: 1, name: `Run ${failed.execution_id}` }).waitFor();
    agent.script({ kind: 'json', body: { synced: true } });
    await page.getByRole('button', { name: 'Replay' }).click();
    const trigger = page.getByRole('region', { name: 'Trigger' });
    await trigger.getByText('Replay of').waitFor();
    await page.locator('.big-status', { hasText: 'succeeded' }).waitFor();

    // Assess: a new run of the job with the same parameters and override, naming the one it replays
    const history = await client.jobs.getExecutions(flaky.id);
    const replay = history.executions[0];
    expect(history.executions.map((run) => run.execution_id)).toEqual([
      replay?.execution_id,
      failed.execution_id,
    ]);
    expect(replay).toMatchObject({
      replay_of: failed.execution_id,
      status: 'succeeded',
      parameters: { target: 'crm' },
      config: { timeout: 600 },
      output: { synced: true },
    });
    expect(page.url()).toContain(`/runs/${replay?.execution_id}`);
    expect(await trigger.getByRole('link', { name: failed.execution_id }).count()).toBe(1);
    await expectNoSeriousAxeFindings();
  }, 60_000);

  it('cancels a run held by a slow target', async () => {
    // Prepare: the agent holds every request; the job has a queue of its own
    const { agent, entityId } = await agentEntity('Slow agent');
    agent.script({ kind: 'hold' });
    const job = await client.jobs.create({
      name: 'Slow',
      trigger_type: 'manual',
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: entityId,
      prompt_template: 'Wait',
      executor_type: 'specific_queue',
      worker_queue_name: `slow-${randomBytes(3).toString('hex')}`,
    });
    const { execution_id } = await client.jobs.trigger(job.id);
    await agent.waitForRequests(1);

    // Act
    await go(`/jobs/${job.id}/runs/${execution_id}`, /^Run exec_/);
    await page.locator('.big-status', { hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await expectNoSeriousAxeFindings();
    await dialog.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('.big-status', { hasText: 'cancelled' }).waitFor();

    // Assess
    expect((await client.jobs.getExecution(job.id, execution_id)).status).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    agent.release();
  }, 60_000);

  it('disables and enables a job', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'Toggle', trigger_type: 'manual', prompt_template: 'x' });
    await go(`/jobs/${job.id}`, 'Toggle');

    // Act, Assess
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await client.jobs.get(job.id)).enabled).toBe(false);
    expect(
      await page
        .getByRole('region', { name: 'Run now' })
        .getByRole('button', { name: 'Run now' })
        .isDisabled(),
    ).toBe(true);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('button', { name: 'Disable' }).waitFor();
    expect((await client.jobs.get(job.id)).enabled).toBe(true);
  }, 60_000);

  it("shows a webhook job's URL and example, and rotates its secret, showing the new one once", async () => {
    // Prepare
    const job = await client.jobs.create({
      name: 'Hooked',
      trigger_type: 'webhook',
      prompt_template: 'Deploy {{ branch }}',
    });
    await go(`/jobs/${job.id}`, 'Hooked');
    const panel = page.getByRole('region', { name: 'Webhook' });
    expect(await panel.textContent()).toContain(job.webhook_url as string);
    expect(await panel.locator('pre').textContent()).toContain(
      `openssl dgst -sha256 -hmac "$WEBHOOK_SECRET"`,
    );
    expect(await panel.locator('pre').textContent()).toContain('{"parameters":{"branch":"…"}}');
    await expectNoSeriousAxeFindings();

    // Act
    await panel.getByLabel('Grace period (seconds)').fill('60');
    await panel.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
    const shown = page.getByLabel('New webhook secret', { exact: true });
    await shown.waitFor();
    const secret = await shown.inputValue();

    // Assess: the shown secret signs a delivery the service accepts
    const { body, signature } = signWebhookPayload({ parameters: { branch: 'main' } }, secret);
    const delivered = await client.jobs.triggerWebhook({
      webhook_path: job.webhook_path as string,
      payload: body,
      signature,
    });
    expect(delivered.status).toBe('queued');
    expect(await panel.textContent()).toContain('The previous secret keeps working until');
    await expectNoSeriousAxeFindings();

    // Act, Assess: shown once only
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Hooked' }).waitFor();
    expect(await page.getByLabel('New webhook secret', { exact: true }).count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(secret);
  }, 60_000);

  it('creates an entity (its signing secret shown once), edits and deletes it', async () => {
    // Prepare
    await go('/entities', 'Entities');
    await expectNoSeriousAxeFindings();
    await page.getByRole('link', { name: 'New entity' }).click();
    await page.getByRole('heading', { level: 1, name: 'New entity' }).waitFor();

    // Act
    await page.getByLabel('Name').fill('Reviewer');
    await page.getByLabel('Target URL').fill('http://127.0.0.1:9/agent');
    await page.getByRole('button', { name: 'Create entity' }).click();
    await page.getByRole('heading', { level: 1, name: 'Reviewer' }).waitFor();
    const secret = await page.getByLabel('Signing secret', { exact: true }).inputValue();
    await expectNoSeriousAxeFindings();
    await page.getByLabel('Name').fill('Code reviewer');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect
      .poll(async () => (await client.entities.list()).find((e) => e.name === 'Code reviewer'))
      .toBeTruthy();

    // Assess
    expect(secret).toMatch(/^whsec_/);
    const saved = (await client.entities.list()).find((entity) => entity.name === 'Code reviewer');
    expect(saved?.target).toEqual({ type: 'http', url: 'http://127.0.0.1:9/agent' });

    // Act, Assess: delete
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete entity' }).click();
    await page.getByRole('heading', { level: 1, name: 'Entities' }).waitFor();
    expect((await client.entities.list()).some((entity) => entity.id === saved?.id)).toBe(false);
  }, 60_000);

  it('passes axe in dark mode too, on every kind of view', async () => {
    // Prepare
    const dark = await open('dark');
    await dark.open();
    await signIn(dark.page, runtime.apiKey);
    const job = await client.jobs.create({
      name: 'Dark hook',
      trigger_type: 'webhook',
      prompt_template: 'x',
    });
    const manual = await client.jobs.create({
      name: 'Dark run',
      trigger_type: 'manual',
      prompt_template: 'x',
    });
    const run = await client.jobs.trigger(manual.id);
    await waitForExecution(client, manual.id, run.execution_id);

    // Act, Assess
    for (const [hash, heading] of [
      ['/jobs', 'Jobs'],
      ['/jobs/new', 'New job'],
      [`/jobs/${job.id}`, 'Dark hook'],
      [`/jobs/${manual.id}/runs/${run.execution_id}`, /^Run exec_/],
      ['/runs', 'Runs'],
      ['/entities', 'Entities'],
      ['/entities/dry-run', 'Dry run'],
    ] as const) {
      await dark.open(hash);
      await dark.page.getByRole('heading', { level: 1, name: heading }).waitFor();
      expect({ hash, findings: await seriousAxeFindings(dark.page) }).toEqual({ hash, findings: [] });
    }
    await dark.close();
  }, 90_000);

  it('keeps to its own origin and its CSP, with no script error, across every flow above', async () => {
    // Prepare
    const origin = new URL(runtime.url).origin;

    // Act
    const requested = pages.flatMap((opened) => opened.requests);
    const foreign = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    const violations = await main.cspViolations();
    const errors = pages.flatMap((opened) =>
      // A failed API call is logged by Chromium as a resource error; those are the tests' own 4xx cases.
      opened.errors.filter((text) => !text.startsWith('Failed to load resource')),
    );

    // Assess
    expect(requested.length).toBeGreaterThan(20);
    expect(foreign).toEqual([]);
    expect(violations).toEqual([]);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
