/**
 * `npm run screenshots`: writes docs/console/<view>-<light|dark>.png. Starts a local runtime of its own
 * (temp data dir, its own DynamoDB Local), fills it through the SDK with a few jobs and runs (one failing
 * on a local agent that answers 400), and photographs the console's views in Chromium with the helpers
 * the browser tests use.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalRuntime } from '../infra/local/runtime.js';
import { ControlPlaneClient, type EntityWithSecret, signWebhookPayload } from '../sdk/index.js';
import { createLogger } from '../shared/adapters/logger.js';
import { startAgentServer } from '../test/support/agent-server.js';
import { launchBrowser, openConsole, signIn } from '../test/support/console-browser.js';
import { buildConsole, CONSOLE_OUT_DIR } from './build-console.js';

/** Waits until a run has finished (the runtime's workers run it in the background). */
async function waitForExecution(
  client: ControlPlaneClient,
  jobId: string,
  executionId: string,
): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    const { status } = await client.jobs.getExecution(jobId, executionId);
    if (status !== 'queued' && status !== 'running') return;
    await new Promise((resolveLater) => setTimeout(resolveLater, 100));
  }
  throw new Error(`run ${executionId} did not finish`);
}

// A notice for deployments (which run nodejs22.x), not for a local script.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const OUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'console');

const dataDir = await mkdtemp(join(tmpdir(), 'console-screenshots-'));
await buildConsole({ outDir: CONSOLE_OUT_DIR });
const runtime = await startLocalRuntime({ dataDir, port: 0, logger: createLogger({ level: 'silent' }) });
const agent = await startAgentServer();
const browser = await launchBrowser();
try {
  const client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
  await client.entities.create({
    id: 'dry-run',
    type: 'workflow',
    name: 'Dry run',
    target: { type: 'echo' },
    default: true,
  });
  const reviewer = (await client.entities.create({
    id: 'code-reviewer',
    type: 'agent',
    name: 'Code reviewer',
    target: { type: 'http', url: agent.url, timeout_seconds: 60 },
  })) as EntityWithSecret;
  agent.signingSecret = reviewer.signing_secret;
  agent.script({ kind: 'status', status: 400, body: 'repository "acme/legacy" is archived' });

  const report = await client.jobs.create({
    name: 'Nightly usage report',
    description: 'Summarises yesterday’s usage for the on-call team.',
    trigger_type: 'cron',
    cron_schedule: '30 2 * * 1-5',
    cron_timezone: 'America/New_York',
    prompt_template: 'Summarise usage of {{ team }} for {{ day }}',
  });
  const deploy = await client.jobs.create({
    name: 'Deploy on push',
    trigger_type: 'webhook',
    prompt_template: 'Deploy {{ branch }} of {{ repo }}',
  });
  const review = await client.jobs.create({
    name: 'Review pull request',
    trigger_type: 'manual',
    planning_mode: 'predefined_agent',
    entity_type: 'agent',
    entity_id: 'code-reviewer',
    prompt_template: 'Review {{ pr }}',
  });
  await client.jobs.create({
    name: 'Weekly cleanup',
    trigger_type: 'cron',
    cron_schedule: '0 4 * * 0',
    prompt_template: 'Clean up',
    enabled: false,
  });

  const runs = [];
  for (const team of ['core', 'billing', 'search']) {
    runs.push(await client.jobs.trigger(report.id, { parameters: { team, day: 'Monday' } }));
  }
  const { body, signature } = signWebhookPayload(
    { parameters: { branch: 'main', repo: 'acme/web' } },
    deploy.webhook_secret as string,
  );
  await client.jobs.triggerWebhook({
    webhook_path: deploy.webhook_path as string,
    payload: body,
    signature,
    delivery_id: 'delivery-42',
  });
  const failed = await client.jobs.trigger(review.id, { parameters: { pr: 'acme/legacy#12' } });
  for (const run of runs) await waitForExecution(client, report.id, run.execution_id);
  await waitForExecution(client, review.id, failed.execution_id);
  const succeeded = runs[0];
  if (!succeeded) throw new Error('no run');

  const views: [string, string][] = [
    ['jobs', '/jobs'],
    ['job-cron', `/jobs/${report.id}`],
    ['job-webhook', `/jobs/${deploy.id}`],
    ['new-job', '/jobs/new'],
    ['run-succeeded', `/jobs/${report.id}/runs/${succeeded.execution_id}`],
    ['run-failed', `/jobs/${review.id}/runs/${failed.execution_id}`],
    ['runs', '/runs'],
    ['entities', '/entities'],
  ];
  await mkdir(OUT_DIR, { recursive: true });
  for (const colorScheme of ['light', 'dark'] as const) {
    const opened = await openConsole(browser, runtime.consoleUrl, {
      colorScheme,
      viewport: { width: 1280, height: 860 },
    });
    await opened.open();
    await opened.page.screenshot({ path: join(OUT_DIR, `sign-in-${colorScheme}.png`) });
    await signIn(opened.page, runtime.apiKey);
    for (const [name, hash] of views) {
      await opened.open(hash);
      await opened.page.getByRole('heading', { level: 1 }).waitFor();
      if (name === 'new-job') {
        await opened.page.getByLabel('Name', { exact: true }).fill('Quarterly review');
        await opened.page.getByLabel('Cron schedule').check();
        await opened.page.getByLabel('Time zone').fill('America/New_York');
        await opened.page.getByLabel('Cron expression').fill('30 2 14 3 *');
        await opened.page.getByText('does not exist in').first().waitFor();
      }
      // Lazy parts (run statistics, previews) settle, then the picture is taken.
      await opened.page.waitForLoadState('networkidle');
      await opened.page.screenshot({ path: join(OUT_DIR, `${name}-${colorScheme}.png`) });
      process.stdout.write(`docs/console/${name}-${colorScheme}.png\n`);
    }
    await opened.close();
  }
} finally {
  await browser.close();
  await agent.close();
  await runtime.stop();
  await rm(dataDir, { recursive: true, force: true });
}
