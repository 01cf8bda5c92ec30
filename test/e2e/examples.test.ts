import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient, JobError, signWebhookPayload } from '../../sdk/index.js';
import { startTestRuntime, type TestRuntime, waitForExecution } from '../support/local-runtime.js';
import { NIGHTLY_BACKUP, WEEKLY_SECURITY_SCAN } from '../support/reference-jobs.js';

/*
 * Every program in examples/ run as a user runs it: a child process (`node --import tsx`, which is what
 * `npx tsx` does) that imports the SDK as `serverless-jobs/client` from the built dist/, talking to a
 * local runtime over HTTP. Each is checked by its exit code, the lines it prints, and what it did as
 * seen through the SDK; the ones that create jobs run twice (`--keep`, then plain) to show they can be
 * run again.
 */

const REPO_ROOT = resolve(import.meta.dirname, '../..');
/** Longest one example may run before it is killed. */
const EXAMPLE_TIMEOUT_MS = 60_000;
/** Longest a test may take: most run an example twice, on a machine that may be busy with other tests. */
const TEST_TIMEOUT_MS = 2 * EXAMPLE_TIMEOUT_MS;

let runtime: TestRuntime;
let client: ControlPlaneClient;
const children = new Set<ChildProcess>();

interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Our environment without anything the examples read, plus `env`. */
function exampleEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(JOBS_|AGENT_)/.test(name) && name !== 'PORT' && name !== 'NODE_OPTIONS') base[name] = value;
  }
  return { ...base, JOBS_API_URL: runtime.url, JOBS_API_KEY: runtime.apiKey, ...env };
}

/** Starts `examples/<file>` with `args`; `output()` is what it printed so far, `exited` its exit. */
function startExample(file: string, args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', join('examples', file), ...args], {
    cwd: REPO_ROOT,
    env: exampleEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), EXAMPLE_TIMEOUT_MS);
  const exited = new Promise<ExampleRun>((resolveExit) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolveExit({ code, stdout, stderr });
    });
  });
  return { child, output: () => stdout, exited };
}

/** Runs an example to its end and fails with its output unless it exits with `expectedCode`. */
async function runExample(
  file: string,
  args: string[] = [],
  env: Record<string, string> = {},
  expectedCode = 0,
): Promise<ExampleRun> {
  const run = await startExample(file, args, env).exited;
  if (run.code !== expectedCode) {
    throw new Error(`${file} ${args.join(' ')} exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  }
  return run;
}

/** The first capture of `pattern` in `text`; fails when it does not match. */
function capture(text: string, pattern: RegExp): string {
  const match = pattern.exec(text);
  if (!match?.[1]) throw new Error(`No ${pattern} in:\n${text}`);
  return match[1];
}

/** A well-formed signing secret that is not the entity's. */
const OTHER_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const lines = (text: string) => text.trimEnd().split('\n');
const KEPT = /^Kept job (job_\S+) \(--keep\)\.$/m;
const DELETED = /^Cleaned up: deleted job (job_\S+) \(run with --keep to keep it\)\.$/m;

/** Resolves with the status a call answers with (200 if it does not throw). */
const statusOf = (call: Promise<unknown>) =>
  call.then(
    () => 200,
    (error: unknown) => (error instanceof JobError ? error.status : -1),
  );

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address();
  await new Promise((resolveClose) => server.close(resolveClose));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Resolves with the first capture of `pattern` once `output()` matches it. */
async function waitForOutput(output: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output());
    if (match) return match[1] ?? match[0];
    if (Date.now() > deadline) throw new Error(`No ${pattern} within ${timeoutMs} ms in:\n${output()}`);
    await new Promise((resolveLater) => setTimeout(resolveLater, 50));
  }
}

beforeAll(async () => {
  runtime = await startTestRuntime();
  client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await runtime?.cleanup();
});

describe('examples 00 to 02, in order: the later ones count the jobs the earlier ones keep', {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  it('00-setup registers the reference entities and a default, and changes nothing when run again', async () => {
    // Act
    const first = await runExample('00-setup.ts');
    const second = await runExample('00-setup.ts');

    // Assess
    expect(lines(first.stdout)).toEqual([
      'Created agent agent-uuid',
      'Created agent backup-agent-uuid',
      'Created team deployment-team-uuid',
      'Created team security-team-uuid',
      'Created workflow default-workflow (default)',
      'Setup done: the examples can run now.',
    ]);
    expect(lines(second.stdout)).toEqual([
      'Exists  agent agent-uuid',
      'Exists  agent backup-agent-uuid',
      'Exists  team deployment-team-uuid',
      'Exists  team security-team-uuid',
      'Exists  workflow default-workflow',
      'Setup done: the examples can run now.',
    ]);
    const entities = await client.entities.list();
    expect(entities.map((e) => [e.id, e.type, e.target.type, e.default]).sort()).toEqual([
      ['agent-uuid', 'agent', 'echo', false],
      ['backup-agent-uuid', 'agent', 'echo', false],
      ['default-workflow', 'workflow', 'echo', true],
      ['deployment-team-uuid', 'team', 'echo', false],
      ['security-team-uuid', 'team', 'echo', false],
    ]);
  });

  it('01-quick-start lists the jobs and creates the daily cron job; a plain run deletes its job', async () => {
    // Act
    const kept = await runExample('01-quick-start.ts', ['--keep']);
    const plain = await runExample('01-quick-start.ts');

    // Assess
    expect(kept.stdout).toContain('Found 0 job(s)\nCreated job with webhook URL: N/A\n');
    const keptId = capture(kept.stdout, KEPT);
    expect(await client.jobs.get(keptId)).toMatchObject({
      name: 'Daily Health Check',
      trigger_type: 'cron',
      cron_schedule: '0 9 * * *',
      cron_timezone: 'UTC',
      entity_id: 'agent-uuid',
      enabled: true,
      next_run_at: expect.stringMatching(/T09:00:00\.000Z$/),
    });
    expect(plain.stdout).toContain('Found 1 job(s)\nCreated job with webhook URL: N/A\n');
    expect(await statusOf(client.jobs.get(capture(plain.stdout, DELETED)))).toBe(404);
  });

  it('02-list-jobs prints the counts of every filter', async () => {
    // Prepare: besides the Daily Health Check kept by 01, a disabled manual job
    await client.jobs.create({
      name: 'Paused rollback',
      trigger_type: 'manual',
      prompt_template: 'Roll back',
      enabled: false,
    });

    // Act
    const run = await runExample('02-list-jobs.ts');

    // Assess
    expect(lines(run.stdout).slice(0, 3)).toEqual([
      'All jobs: 2',
      'Enabled: 1, disabled: 1',
      'Cron: 1, webhook: 0, manual: 1',
    ]);
    for (const job of await client.jobs.list()) {
      expect(run.stdout).toContain(
        `- ${job.id}  ${job.name} (${job.trigger_type}, ${job.enabled ? 'enabled' : 'disabled'})`,
      );
    }
  });
});

// Each of these creates its own jobs and checks them by id, so they can run side by side.
describe.concurrent('examples 03 to 15, side by side', { timeout: TEST_TIMEOUT_MS }, () => {
  it('03-get-job prints the job it created, then deletes it', async ({ expect }) => {
    // Act
    const runs = [await runExample('03-get-job.ts'), await runExample('03-get-job.ts')];

    // Assess
    for (const run of runs) {
      const url = capture(run.stdout, /^Webhook URL: (\S+)$/m);
      expect(lines(run.stdout).slice(0, 3)).toEqual([
        'Job: Deploy on Push',
        'Trigger Type: webhook',
        'Enabled: true',
      ]);
      expect(url).toMatch(new RegExp(`^${runtime.url}/webhooks/[A-Za-z0-9_-]{16,64}$`));
      expect(await statusOf(client.jobs.get(capture(run.stdout, DELETED)))).toBe(404);
    }
  });

  it('04-create-cron-job creates the Nightly Backup job of the reference', async ({ expect }) => {
    // Act
    const kept = await runExample('04-create-cron-job.ts', ['--keep']);
    const plain = await runExample('04-create-cron-job.ts');

    // Assess
    const jobId = capture(kept.stdout, /^Cron job created: (job_\S+)$/m);
    expect(capture(kept.stdout, KEPT)).toBe(jobId);
    const job = await client.jobs.get(jobId);
    expect(job).toMatchObject(NIGHTLY_BACKUP);
    expect(kept.stdout).toContain(`Next run at: ${job.next_run_at} (UTC)`);
    const second = capture(plain.stdout, /^Cron job created: (job_\S+)$/m);
    expect(capture(plain.stdout, DELETED)).toBe(second);
    expect(await statusOf(client.jobs.get(second))).toBe(404);
  });

  it('05-create-webhook-job prints a webhook URL and a secret that work together', async ({ expect }) => {
    // Act
    const kept = await runExample('05-create-webhook-job.ts', ['--keep']);
    const plain = await runExample('05-create-webhook-job.ts');

    // Assess
    const url = capture(kept.stdout, /^Webhook URL: (\S+)$/m);
    const secret = capture(kept.stdout, /^Webhook Secret: (\S+)$/m);
    const { body, signature } = signWebhookPayload(
      { parameters: { branch_name: 'main', environment: 'production' } },
      secret,
    );
    const delivered = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': signature },
      body,
    });
    expect(delivered.status).toBe(202);
    const jobId = capture(kept.stdout, KEPT);
    expect(await client.jobs.get(jobId)).toMatchObject({ name: 'Deploy on Push', webhook_url: url });
    expect(plain.stdout).toMatch(/^Webhook Secret: whsec_\S+$/m);
    expect(await statusOf(client.jobs.get(capture(plain.stdout, DELETED)))).toBe(404);
  });

  it('06-create-manual-job creates a job without entity that runs on the default entity', async ({
    expect,
  }) => {
    // Act
    const kept = await runExample('06-create-manual-job.ts', ['--keep']);
    await runExample('06-create-manual-job.ts');

    // Assess
    expect(kept.stdout).toContain('Runs on: the default entity');
    const jobId = capture(kept.stdout, /^Manual job created: (job_\S+)$/m);
    const { execution_id } = await client.jobs.trigger(jobId, {
      parameters: { service_name: 'api', version: 'v2' },
    });
    expect(await waitForExecution(client, jobId, execution_id)).toMatchObject({
      status: 'succeeded',
      entity_id: 'default-workflow',
      prompt: 'Rollback service api to version v2 ',
    });
  });

  it('07-update-job applies the three partial updates of the reference', async ({ expect }) => {
    // Act
    const kept = await runExample('07-update-job.ts', ['--keep']);
    const plain = await runExample('07-update-job.ts');

    // Assess
    expect(lines(kept.stdout).slice(0, 3)).toEqual([
      'Schedule: 0 10 * * * (UTC)',
      'Prompt template: Updated prompt with {{ new_variable }} ',
      'Enabled: false',
    ]);
    expect(await client.jobs.get(capture(kept.stdout, KEPT))).toMatchObject({
      name: 'Nightly Backup',
      cron_schedule: '0 10 * * *',
      cron_timezone: 'UTC',
      prompt_template: 'Updated prompt with {{ new_variable }} ',
      enabled: false,
      next_run_at: null,
      entity_id: 'backup-agent-uuid',
    });
    expect(await statusOf(client.jobs.get(capture(plain.stdout, DELETED)))).toBe(404);
  });

  it('08-delete-job deletes the job it created', async ({ expect }) => {
    // Act
    const runs = [await runExample('08-delete-job.ts'), await runExample('08-delete-job.ts')];

    // Assess
    for (const run of runs) {
      const jobId = capture(run.stdout, /^Created job: (job_\S+)$/m);
      expect(lines(run.stdout)).toEqual([`Created job: ${jobId}`, 'Job deleted successfully']);
      expect(await statusOf(client.jobs.get(jobId))).toBe(404);
    }
  });

  it('09-trigger-job runs one job with parameters and one with a config override', async ({ expect }) => {
    // Act
    const kept = await runExample('09-trigger-job.ts', ['--keep']);
    await runExample('09-trigger-job.ts');

    // Assess
    const [deployId, backupId] = [...kept.stdout.matchAll(/^Kept job (job_\S+)/gm)].map((m) => m[1] ?? '');
    const [first, second] = [...kept.stdout.matchAll(/^Execution ID: (exec_\S+)$/gm)].map((m) => m[1] ?? '');
    const deployRun = await client.jobs.getExecution(deployId ?? '', first ?? '');
    const backupRun = await client.jobs.getExecution(backupId ?? '', second ?? '');
    expect(lines(kept.stdout).slice(0, 4)).toEqual([
      `Workflow ID: ${deployRun.workflow_id}`,
      `Execution ID: ${deployRun.execution_id}`,
      'Status: queued',
      `Execution ID: ${backupRun.execution_id}`,
    ]);
    expect(deployRun).toMatchObject({
      status: 'succeeded',
      trigger_type: 'manual',
      parameters: { branch_name: 'main', environment: 'production' },
      prompt: 'Deploy branch main to production ',
      entity_id: 'deployment-team-uuid',
    });
    expect(backupRun).toMatchObject({ status: 'succeeded', config: { timeout: 7200 } });
    expect(Date.parse(backupRun.deadline_at ?? '') - Date.parse(backupRun.started_at ?? '')).toBe(7_200_000);
    expect(kept.stdout).toContain(
      `Execution ${first} succeeded: "Deploy branch main to production " (config {})`,
    );
    expect(kept.stdout).toContain(
      `Execution ${second} succeeded: "Perform full database backup of api" (config {"timeout":7200})`,
    );
  });

  it('10-enable-disable schedules the cron job, then pauses it', async ({ expect }) => {
    // Act
    const kept = await runExample('10-enable-disable.ts', ['--keep']);
    await runExample('10-enable-disable.ts');

    // Assess
    expect(lines(kept.stdout).slice(0, 4)).toEqual([
      'Job enabled: true',
      expect.stringMatching(/^ {2}Next run at: \d{4}-\d\d-\d\dT0[67]:00:00\.000Z$/),
      'Job disabled: true',
      '  Next run at: none while disabled',
    ]);
    expect(await client.jobs.get(capture(kept.stdout, KEPT))).toMatchObject({
      enabled: false,
      next_run_at: null,
    });
  });

  it('11-execution-history prints the three runs it made, newest first', async ({ expect }) => {
    // Act
    const kept = await runExample('11-execution-history.ts', ['--keep']);
    await runExample('11-execution-history.ts');

    // Assess
    const history = await client.jobs.getExecutions(capture(kept.stdout, KEPT));
    expect(history.total_count).toBe(3);
    const printed = lines(kept.stdout).slice(0, 13);
    expect(printed).toEqual([
      'Total executions: 3',
      ...history.executions.flatMap((execution) => [
        `Execution ${execution.execution_id}:`,
        '  Status: succeeded',
        `  Started: ${execution.started_at}`,
        `  Duration: ${execution.duration_ms}ms`,
      ]),
    ]);
    expect(history.executions.map((e) => e.parameters.version)).toEqual(['v1.3.1', 'v1.3.2', 'v1.4.0']);
  });

  it('12-trigger-webhook delivers signed payloads with the SDK and with fetch; a tampered one is refused', async ({
    expect,
  }) => {
    // Act
    const kept = await runExample('12-trigger-webhook.ts', ['--keep']);
    const plain = await runExample('12-trigger-webhook.ts');

    // Assess
    const history = await client.jobs.getExecutions(capture(kept.stdout, KEPT));
    const [fromCi, fromSdk] = history.executions;
    expect(history.total_count).toBe(2);
    expect(lines(kept.stdout).slice(0, 3)).toEqual([
      `Webhook triggered: ${fromSdk?.workflow_id}`,
      `Webhook POST answered 202: ${fromCi?.workflow_id}`,
      'Tampered delivery refused: HTTP 401',
    ]);
    expect(fromSdk).toMatchObject({
      status: 'succeeded',
      trigger_type: 'webhook',
      prompt: 'Deploy branch feature-x to staging ',
      metadata: { source: 'github', commit: 'abc123', webhook: { scheme: 'hmac-sha256' } },
    });
    expect(fromCi).toMatchObject({
      status: 'succeeded',
      prompt: 'Deploy branch main to production ',
      metadata: { source: 'ci', commit: 'def456' },
    });
    expect(kept.stdout).toContain(
      `Execution ${fromSdk?.execution_id} succeeded: "Deploy branch feature-x to staging "`,
    );
    expect(plain.stdout).toContain('Tampered delivery refused: HTTP 401');
    expect(await statusOf(client.jobs.get(capture(plain.stdout, DELETED)))).toBe(404);
  });

  it('13-complete-example prints what the reference prints, and leaves the job enabled', async ({
    expect,
  }) => {
    // Act
    const kept = await runExample('13-complete-example.ts', ['--keep']);
    const plain = await runExample('13-complete-example.ts');

    // Assess
    const jobId = capture(kept.stdout, /^Created job: (job_\S+)$/m);
    const history = await client.jobs.getExecutions(jobId);
    expect(lines(kept.stdout)).toEqual([
      `Created job: ${jobId}`,
      `Test execution started: ${history.executions[0]?.execution_id}`,
      'Latest execution status: succeeded',
      'Job disabled',
      'Job re-enabled',
      `Kept job ${jobId} (--keep).`,
    ]);
    expect(history.total_count).toBe(1);
    expect(await client.jobs.get(jobId)).toMatchObject({ ...WEEKLY_SECURITY_SCAN, enabled: true });
    expect(history.executions[0]).toMatchObject({ queue: 'security', status: 'succeeded' });
    expect(await statusOf(client.jobs.get(capture(plain.stdout, DELETED)))).toBe(404);
  });

  it('14-error-handling catches the JobError of a missing job and of invalid input', async ({ expect }) => {
    // Act
    const run = await runExample('14-error-handling.ts');

    // Assess
    expect(lines(run.stdout)).toEqual([
      expect.stringMatching(/^Job error: .*No job with id "invalid-id"/),
      '  status 404, code not_found, not found: true',
      expect.stringMatching(/^Job error: .*cron_schedule/),
      '  status 422, code validation_failed',
      expect.stringMatching(/^ {2}cron_schedule: is not a valid 5-field cron expression: hour: 25/),
    ]);
  });

  it('15-cron-patterns previews each pattern of the reference as the service reads it', async ({
    expect,
  }) => {
    // Act
    const utc = await runExample('15-cron-patterns.ts');
    const newYork = await runExample('15-cron-patterns.ts', ['America/New_York']);

    // Assess
    const expressions = ['0 9 * * *', '0 * * * *', '*/15 * * * *', '0 8 * * 1', '0 0 1 * *', '0 17 * * 1-5'];
    for (const expression of [...expressions, '0 2 * * 0']) {
      const preview = await client.jobs.previewSchedule(expression, 'America/New_York', 3);
      expect(newYork.stdout).toContain(`"${expression}"  (${preview.schedule_expression.join(' + ')}`);
      // The first two fires of a preview made after the example's: still among its three, even if a
      // fire time passed in between.
      for (const fire of preview.fires.slice(0, 2)) {
        expect(newYork.stdout).toContain(`  ${fire.local} America/New_York  =  ${fire.utc}\n`);
      }
    }
    expect(lines(utc.stdout).filter((line) => line.startsWith('# '))).toEqual([
      '# Every day at 9 AM',
      '# Every hour',
      '# Every 15 minutes',
      '# Every Monday at 8 AM',
      '# First day of every month at midnight',
      '# Every weekday at 5 PM',
      '# Every Sunday at 2 AM',
    ]);
    expect(lines(utc.stdout).filter((line) => / UTC {2}= {2}/.test(line))).toHaveLength(21);
  });

  it('the examples find the local API key in the data dir when JOBS_API_KEY is unset', async ({ expect }) => {
    // Act
    const found = await runExample('02-list-jobs.ts', [], {
      JOBS_API_KEY: '',
      JOBS_DATA_DIR: runtime.dataDir,
    });
    const missing = await runExample(
      '02-list-jobs.ts',
      [],
      { JOBS_API_KEY: '', JOBS_DATA_DIR: join(runtime.dataDir, 'nowhere') },
      1,
    );

    // Assess
    expect(found.stdout).toMatch(/^All jobs: \d+$/m);
    expect(missing.stderr).toContain('No API key: pass apiKey or set JOBS_API_KEY.');
  });
});

describe('16-agent-job with examples/agent.ts', { timeout: TEST_TIMEOUT_MS }, () => {
  it('16-agent-job runs a job on examples/agent.ts, which refuses requests it cannot verify', async () => {
    // Prepare: 16 registers the entity and prints the command that starts the agent, then waits for it
    const port = await freePort();
    const agentUrl = `http://127.0.0.1:${port}/run`;
    const env = { AGENT_URL: agentUrl, AGENT_WAIT_SECONDS: '30' };
    const first = startExample('16-agent-job.ts', ['--keep'], env);
    const command = await waitForOutput(first.output, /^ {2}(AGENT_SIGNING_SECRET=.*)\n/m);
    const secret = capture(command, /AGENT_SIGNING_SECRET='(whsec_[A-Za-z0-9+/=]+)'/);
    expect(command).toBe(`AGENT_SIGNING_SECRET='${secret}' PORT=${port} npx tsx examples/agent.ts`);
    const agent = startExample('agent.ts', [], { AGENT_SIGNING_SECRET: secret, PORT: String(port) });
    await waitForOutput(agent.output, /^Agent listening on/m);

    // Act
    const run = await first.exited;
    const again = await runExample('16-agent-job.ts', [], env);
    // What the agent gets from the service, signed by the independent `standardwebhooks` package instead.
    const body = JSON.stringify({
      execution_id: 'exec_by_hand',
      job_name: 'By hand',
      entity: { id: 'example-agent', type: 'agent', name: 'Example agent' },
      prompt: 'Say hello',
      parameters: {},
      attempt: 1,
    });
    const now = Math.floor(Date.now() / 1000);
    const sign = (key: string, id: string, timestamp: number, payload = body) =>
      new Webhook(key).sign(id, new Date(timestamp * 1000), payload);
    const post = (id: string, timestamp: number, signature: string, payload = body) =>
      fetch(agentUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
        },
        body: payload,
      }).then((response) => response.status);
    const notARequest = JSON.stringify({ hello: 'world' });
    const statuses = {
      valid: await post('msg_1', now, sign(secret, 'msg_1', now)),
      validButNotARequest: await post('msg_2', now, sign(secret, 'msg_2', now, notARequest), notARequest),
      unsigned: await fetch(agentUrl, { method: 'POST', body }).then((response) => response.status),
      wrongSecret: await post('msg_3', now, sign(OTHER_SECRET, 'msg_3', now)),
      tamperedBody: await post('msg_4', now, sign(secret, 'msg_4', now), body.replace('hello', 'bye')),
      otherId: await post('msg_5', now, sign(secret, 'msg_6', now)),
      stale: await post('msg_7', now - 301, sign(secret, 'msg_7', now - 301)),
      // A minute past the tolerance: the requests before it may take seconds on a busy machine.
      future: await post('msg_8', now + 360, sign(secret, 'msg_8', now + 360)),
    };

    // Assess
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const executionId = capture(run.stdout, /^Execution ID: (exec_\S+)$/m);
    const jobId = capture(run.stdout, KEPT);
    const execution = await client.jobs.getExecution(jobId, executionId);
    const output = {
      agent: 'example-agent',
      answer: 'Done: Check the health of checkout in staging',
      prompt: 'Check the health of checkout in staging',
      parameters: { service: 'checkout', environment: 'staging' },
      attempt: 1,
    };
    expect(execution).toMatchObject({ status: 'succeeded', entity_id: 'example-agent', output });
    expect(run.stdout).toContain(`Status: succeeded\nAgent output: ${JSON.stringify(output)}\n`);
    expect(agent.output()).toContain(`"executionId":"${executionId}"`);

    expect(again.stdout).not.toContain('AGENT_SIGNING_SECRET');
    expect(again.stdout).toContain(`Entity example-agent exists (http → ${agentUrl}).`);
    expect(again.stdout).toContain('Status: succeeded');
    expect(statuses).toEqual({
      valid: 200,
      validButNotARequest: 400,
      unsigned: 401,
      wrongSecret: 401,
      tamperedBody: 401,
      otherId: 401,
      stale: 401,
      future: 401,
    });

    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
  });

  it('16-agent-job reports the 401 of an agent started with the wrong secret, and --new-secret recovers', async () => {
    // Prepare: the entity from the previous test, its agent started with some other secret
    const entity = await client.entities.get('example-agent');
    const agentUrl = entity.target.type === 'http' ? entity.target.url : '';
    const port = new URL(agentUrl).port;
    const env = { AGENT_URL: agentUrl, AGENT_WAIT_SECONDS: '30' };
    const wrong = startExample('agent.ts', [], {
      AGENT_SIGNING_SECRET: OTHER_SECRET,
      PORT: port,
    });
    await waitForOutput(wrong.output, /^Agent listening on/m);

    // Act
    const refused = await runExample('16-agent-job.ts', [], env, 1);
    wrong.child.kill('SIGTERM');
    await wrong.exited;
    // The kept job of the previous test still uses the entity: delete it so the entity can be replaced.
    for (const job of await client.jobs.list()) {
      if (job.entity_id === 'example-agent') await client.jobs.delete(job.id);
    }
    const renewed = startExample('16-agent-job.ts', ['--new-secret'], env);
    const secret = await waitForOutput(renewed.output, /AGENT_SIGNING_SECRET='(whsec_[A-Za-z0-9+/=]+)'/);
    const agent = startExample('agent.ts', [], { AGENT_SIGNING_SECRET: secret, PORT: port });
    const recovered = await renewed.exited;
    agent.child.kill('SIGTERM');
    await agent.exited;

    // Assess
    expect(refused.stdout).toContain('Status: failed\nError: The target answered HTTP 401');
    expect(refused.stdout).toContain(
      "The agent refused the signature: start it with this entity's signing secret.",
    );
    expect(recovered.code, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stdout).toContain(`Registered entity example-agent (http → ${agentUrl}).`);
    expect(recovered.stdout).toContain('Status: succeeded');
  });
});

describe('examples/alert-receiver.ts', { timeout: TEST_TIMEOUT_MS }, () => {
  it("prints a channel's signed test notification once and refuses a forged one", async () => {
    // Prepare: a channel pointing at the receiver, as the README's Alerts section creates it
    const port = String(await freePort());
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${runtime.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      }).then(async (response) => ({
        status: response.status,
        body: response.status === 204 ? null : await response.json(),
      }));
    const created = await api('POST', '/notification-channels', {
      name: 'example receiver',
      type: 'webhook',
      url: `http://127.0.0.1:${port}/alerts`,
    });
    expect(created.status).toBe(201);
    const { id, signing_secret: secret } = created.body as { id: string; signing_secret: string };
    const receiver = startExample('alert-receiver.ts', [], { CHANNEL_SIGNING_SECRET: secret, PORT: port });
    await waitForOutput(receiver.output, /^Alert receiver listening on /m);

    // Act
    const tested = await api('POST', `/notification-channels/${id}/test`);
    const now = Math.floor(Date.now() / 1000);
    const forgedBody = JSON.stringify({ type: 'test', id: 'evt_forged', job: null, execution: null });
    const forged = await fetch(`http://127.0.0.1:${port}/alerts`, {
      method: 'POST',
      headers: {
        'webhook-id': 'evt_forged',
        'webhook-timestamp': String(now),
        'webhook-signature': new Webhook(OTHER_SECRET).sign('evt_forged', new Date(now * 1000), forgedBody),
      },
      body: forgedBody,
    });
    receiver.child.kill('SIGTERM');
    const exited = await receiver.exited;

    // Assess
    expect(tested).toMatchObject({ status: 200, body: { delivered: true, status: 'delivered' } });
    expect(forged.status).toBe(401);
    const printed = exited.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(printed).toEqual([
      expect.objectContaining({ type: 'test', job: null, execution: null }),
      { refused: 'bad signature', webhookId: 'evt_forged' },
    ]);
    expect(exited.code).toBe(0);
    await api('DELETE', `/notification-channels/${id}`);
  });
});
