import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlaneClient, EntityWithSecret, Execution, Job } from '../../sdk/index.js';
import { type AgentServer, startAgentServer } from '../support/agent-server.js';
import { startRuntimeWithClient, type TestRuntime, waitForExecution } from '../support/local-runtime.js';

/*
 * The `jobs` CLI as users run it: built with `npm run build`'s settings, started as `node dist/cli/main.js`
 * in a child process against a local runtime, and judged by its exit code, its output and what it did as
 * seen through the SDK.
 */

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(REPO_ROOT, 'dist', 'cli', 'main.js');

let runtime: TestRuntime;
let client: ControlPlaneClient;
let agent: AgentServer;
let workDir: string;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Our environment without anything the CLI reads, plus the runtime's URL and key, plus `env`. */
function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('JOBS_') && name !== 'NODE_OPTIONS') base[name] = value;
  }
  const merged: NodeJS.ProcessEnv = {
    ...base,
    JOBS_API_URL: runtime.url,
    JOBS_API_KEY: runtime.apiKey,
    ...env,
  };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  return merged;
}

/** `node dist/cli/main.js …args` in `workDir`, with `input` on its stdin. */
function jobs(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string } = {},
): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: workDir,
      env: cliEnv(options.env ?? {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the CLI and fails with its output unless it exits 0. */
async function jobsOk(args: string[], options: Parameters<typeof jobs>[1] = {}): Promise<CliRun> {
  const result = await jobs(args, options);
  if (result.code !== 0) {
    throw new Error(`jobs ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

beforeAll(async () => {
  ({ runtime, client } = await startRuntimeWithClient());
  agent = await startAgentServer();
  workDir = await mkdtemp(join(tmpdir(), 'jobs-cli-e2e-'));
});

afterAll(async () => {
  await agent?.close();
  await runtime?.cleanup();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('help', () => {
  it.each([
    [[]],
    [['list']],
    [['get']],
    [['create']],
    [['update']],
    [['delete']],
    [['enable']],
    [['disable']],
    [['trigger']],
    [['executions']],
    [['entities']],
    [['entities', 'list']],
    [['entities', 'get']],
    [['entities', 'create']],
    [['entities', 'update']],
    [['entities', 'delete']],
    [['cron']],
    [['webhook', 'send']],
    [['health']],
  ])('jobs %j --help exits 0 with its usage', async (command) => {
    // Act
    const result = await jobs([...command, '--help']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^Usage: jobs ${command.length > 0 ? command.join(' ') : '<command>'}`),
    );
    expect(result.stderr).toBe('');
  });

  it('prints the version and exits 2 with a usage error for an unknown option', async () => {
    // Act
    const version = await jobs(['--version']);
    const unknown = await jobs(['list', '--colour']);

    // Assess
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('error: unknown option --colour');
  });
});

describe('jobs against the local runtime', () => {
  it('creates an entity from stdin and a job from a file, then lists and shows them', async () => {
    // Prepare
    await writeFile(
      join(workDir, 'job.json'),
      JSON.stringify({
        name: 'CLI health check',
        trigger_type: 'manual',
        planning_mode: 'predefined_agent',
        entity_type: 'agent',
        entity_id: 'cli-echo',
        prompt_template: 'Check the health of {{ service }}',
      }),
    );

    // Act
    const entity = await jobsOk(['entities', 'create', '-f', '-'], {
      input: '{"id": "cli-echo", "type": "agent", "name": "CLI echo", "target": {"type": "echo"}}',
    });
    const created = await jobsOk(['create', '-f', 'job.json', '--json']);
    const job = JSON.parse(created.stdout) as Job;
    const list = await jobsOk(['list', '--trigger-type', 'manual']);
    const shown = await jobsOk(['get', job.id]);

    // Assess
    expect(entity.stdout).toMatch(/^Created entity cli-echo\.$/m);
    expect(await client.jobs.get(job.id)).toMatchObject({ name: 'CLI health check', entity_id: 'cli-echo' });
    expect(list.stdout.split('\n')[0]).toMatch(/^ID +NAME +TRIGGER +SCHEDULE +ENABLED +NEXT RUN$/);
    expect(list.stdout).toMatch(new RegExp(`^${job.id} +CLI health check +manual +- +yes +-$`, 'm'));
    expect(shown.stdout).toMatch(/^prompt_template +Check the health of \{\{ service \}\}$/m);
  });

  it('triggers a run with --wait, prints its outcome and lists it in the executions', async () => {
    // Prepare
    const job = await client.jobs.create({
      name: 'CLI trigger',
      trigger_type: 'manual',
      prompt_template: 'Check the health of {{ service }} with {{ retries }} retries',
    });

    // Act
    const triggered = await jobsOk(['trigger', job.id, '-p', 'service=api', '-p', 'retries:=3', '--wait']);
    const table = await jobsOk(['executions', job.id]);
    const json = await jobsOk(['executions', job.id, '--json']);

    // Assess
    expect(triggered.stdout).toMatch(/^status +succeeded$/m);
    expect(triggered.stdout).toMatch(/^duration +\d/m);
    expect(triggered.stdout).toContain('"prompt": "Check the health of api with 3 retries"');
    expect(triggered.stderr).toContain(': succeeded');
    const executionId = /^execution_id +(\S+)$/m.exec(triggered.stdout)?.[1];
    const history = JSON.parse(json.stdout) as { total_count: number; executions: Execution[] };
    expect(history.total_count).toBe(1);
    expect(history.executions[0]).toMatchObject({
      execution_id: executionId,
      status: 'succeeded',
      parameters: { service: 'api', retries: 3 },
    });
    expect(table.stdout).toMatch(new RegExp(`^${executionId} +succeeded +manual +\\S+ +\\S+ +-$`, 'm'));
  });

  it('exits 1 with the error message when the waited-for run fails', async () => {
    // Prepare
    const entity = (await client.entities.create({
      type: 'agent',
      name: 'Refusing agent',
      target: { type: 'http', url: agent.url },
    })) as EntityWithSecret;
    agent.signingSecret = entity.signing_secret;
    agent.script({ kind: 'status', status: 400, body: 'no thanks' });
    const job = await client.jobs.create({
      name: 'CLI failing run',
      trigger_type: 'manual',
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: entity.id,
      prompt_template: 'Do it',
    });

    // Act
    const result = await jobs(['trigger', job.id, '--wait', '--timeout', '20']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^status +failed$/m);
    expect(result.stdout).toMatch(/^error_message +\S/m);
  });

  it('sends signed webhook deliveries in both schemes, to a path and to the full URL', async () => {
    // Prepare
    const created = await jobsOk(['create', '-f', '-', '--json'], {
      input: JSON.stringify({
        name: 'CLI deploy',
        trigger_type: 'webhook',
        prompt_template: 'Deploy {{ branch }}',
      }),
    });
    const job = JSON.parse(created.stdout) as Job & {
      webhook_path: string;
      webhook_url: string;
      webhook_secret: string;
    };

    // Act
    const hex = await jobsOk([
      'webhook',
      'send',
      job.webhook_path,
      '--secret',
      job.webhook_secret,
      '-d',
      '{"parameters": {"branch": "main"}}',
    ]);
    const standardArgs = [
      'webhook',
      'send',
      job.webhook_url,
      '--scheme',
      'standard',
      '--id',
      'push-42',
      '-d',
      '{"parameters": {"branch": "feature-x"}}',
    ];
    const standard = await jobsOk(standardArgs, { env: { JOBS_WEBHOOK_SECRET: job.webhook_secret } });
    const redelivered = await jobsOk(standardArgs, { env: { JOBS_WEBHOOK_SECRET: job.webhook_secret } });
    const forged = await jobs([
      'webhook',
      'send',
      job.webhook_path,
      '--secret',
      'whsec_d3Jvbmc=',
      '-d',
      '{}',
    ]);

    // Assess
    const executionOf = (result: CliRun) => /^execution_id +(\S+)$/m.exec(result.stdout)?.[1] ?? '';
    const first = await waitForExecution(client, job.id, executionOf(hex));
    const second = await waitForExecution(client, job.id, executionOf(standard));
    expect(first).toMatchObject({ status: 'succeeded', trigger_type: 'webhook', prompt: 'Deploy main' });
    expect(second).toMatchObject({ status: 'succeeded', prompt: 'Deploy feature-x' });
    expect(second.metadata).toMatchObject({
      webhook: { scheme: 'standard-webhooks', delivery_id: 'push-42' },
    });
    expect(executionOf(redelivered)).toBe(second.execution_id);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toBe(
      'error: 401 invalid_signature: The webhook signature could not be verified.\n',
    );
  });

  it('prints API errors on one line with the status, code and field, and exits 1', async () => {
    // Act
    const missing = await jobs(['get', 'job_nope']);
    const invalid = await jobs(['create', '-f', '-'], {
      input: '{"name": "Bad", "trigger_type": "cron", "cron_schedule": "61 * * * *", "prompt_template": "x"}',
    });

    // Assess
    expect(missing).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'error: 404 not_found: No job with id "job_nope".\n',
    });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(
      /^error: 422 validation_failed: cron_schedule: is not a valid 5-field cron expression: .*\n$/,
    );
    expect(missing.stderr + invalid.stderr).not.toContain(runtime.apiKey);
  });

  it("finds the local runtime's key in $JOBS_DATA_DIR/api-key when no key is given", async () => {
    // Act
    const found = await jobs(['entities', 'list'], {
      env: { JOBS_API_KEY: undefined, JOBS_DATA_DIR: runtime.dataDir },
    });
    const absent = await jobs(['entities', 'list'], { env: { JOBS_API_KEY: undefined } });

    // Assess
    expect(found.code).toBe(0);
    expect(found.stdout).toMatch(/^dry-run +workflow +Dry run +echo +yes /m);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(`no API key: ${join(workDir, '.data', 'api-key')} does not exist`);
  });

  it('answers health without a key and previews a cron schedule without a server', async () => {
    // Act
    const health = await jobs(['health'], { env: { JOBS_API_KEY: undefined } });
    const cron = await jobs(
      ['cron', '30 2 * * *', '--tz', 'America/New_York', '--from', '2027-03-13T12:00Z', '-n', '1'],
      {
        env: { JOBS_API_URL: 'http://127.0.0.1:9' },
      },
    );

    // Assess
    expect(health).toMatchObject({ code: 0, stdout: `ok  ${runtime.url}\n` });
    expect(cron.code).toBe(0);
    expect(cron.stdout).toContain('Sun 2027-03-14 02:30  -                     skipped');
    expect(cron.stdout).toContain('Mon 2027-03-15 02:30  2027-03-15T06:30:00Z');
  });
});
