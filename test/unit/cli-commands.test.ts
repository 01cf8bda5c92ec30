import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliIo, run } from '../../cli/run.js';
import type { Entity, Execution, Job } from '../../sdk/index.js';
import { verifyHexHmac } from '../../shared/domain/signature.js';

const API_URL = 'http://jobs.test';
const API_KEY = 'sjk_unit-test-key';

interface SentRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string | undefined;
}

type Answer = { status: number; body?: unknown };

/** A fake service: `handle` answers each request; every request is recorded. */
function fakeService(handle: (request: SentRequest) => Answer) {
  const requests: SentRequest[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const body = init?.body;
    const request: SentRequest = {
      method: init?.method ?? 'GET',
      url: new URL(input instanceof Request ? input.url : String(input)),
      headers: new Headers(init?.headers),
      body:
        body === undefined || body === null
          ? undefined
          : typeof body === 'string'
            ? body
            : Buffer.from(body as Uint8Array).toString('utf8'),
    };
    requests.push(request);
    const answer = handle(request);
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { fetch: fetchFn, requests };
}

/** A fetch that fails the test if the CLI sends anything. */
const noRequests: typeof fetch = async (input) => {
  throw new Error(`unexpected request to ${String(input)}`);
};

/** Runs the CLI with captured output, the test service's URL and key, and a sleep that returns at once. */
async function runCli(argv: string[], io: Partial<CliIo> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { JOBS_API_URL: API_URL, JOBS_API_KEY: API_KEY },
    cwd: tmpdir(),
    fetch: noRequests,
    sleep: async () => {},
    ...io,
  });
  return { code, stdout, stderr };
}

const notFound = (what: string): Answer => ({
  status: 404,
  body: { error: { code: 'not_found', message: `No job with id "${what}".`, details: [] } },
});

function job(overrides: Partial<Job> = {}): Job {
  return {
    id: 'job_11111111-1111-4111-8111-111111111111',
    name: 'Daily Health Check',
    description: null,
    trigger_type: 'cron',
    cron_schedule: '0 9 * * *',
    cron_timezone: 'Europe/Paris',
    planning_mode: 'predefined_agent',
    entity_type: 'agent',
    entity_id: 'agent-uuid',
    prompt_template: 'Check the health of {{ service }}',
    system_prompt: null,
    executor_type: 'auto',
    worker_queue_name: null,
    environment_name: null,
    config: { timeout: 600 },
    execution_environment: {},
    enabled: true,
    created_at: '2027-03-01T08:00:00.000Z',
    updated_at: '2027-03-01T08:00:00.000Z',
    next_run_at: '2027-03-02T08:00:00.000Z',
    schedule_expression: ['cron(0 9 * * ? *)'],
    ...overrides,
  };
}

const WEBHOOK_JOB = job({
  id: 'job_22222222-2222-4222-8222-222222222222',
  name: 'Deploy on Push',
  trigger_type: 'webhook',
  cron_schedule: null,
  cron_timezone: 'UTC',
  enabled: false,
  next_run_at: null,
  webhook_path: 'abcdefghijklmnopqrstuv',
});

function execution(overrides: Partial<Execution> = {}): Execution {
  return {
    execution_id: 'exec_0001',
    workflow_id: 'wf_0001',
    job_id: job().id,
    job_name: 'Daily Health Check',
    status: 'succeeded',
    trigger_type: 'manual',
    parameters: {},
    prompt: 'Check the health of api',
    system_prompt: null,
    config: {},
    entity_id: 'agent-uuid',
    entity_type: 'agent',
    queue: 'default',
    environment_name: null,
    metadata: {},
    dedupe_key: null,
    scheduled_at: null,
    lateness_ms: null,
    attempt: 1,
    max_attempts: 1,
    created_at: '2027-03-01T09:00:00.123Z',
    started_at: '2027-03-01T09:00:00.200Z',
    finished_at: '2027-03-01T09:00:01.434Z',
    duration_ms: 1234,
    deadline_at: null,
    error_message: null,
    output: null,
    output_truncated: false,
    ...overrides,
  };
}

const tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobs-cli-'));
  tempDirs.push(dir);
  return dir;
}

describe('usage errors', () => {
  it.each([
    [['lst'], 'error: unknown command "lst". Run "jobs --help" for the list of commands.'],
    [['list', '--frobnicate'], 'error: unknown option --frobnicate'],
    [['get'], 'error: missing argument <id>'],
    [['get', 'a', 'b'], 'error: unexpected argument "b"'],
    [['list', '--enabled', 'maybe'], 'error: --enabled must be true or false (got "maybe")'],
    [['list', '--trigger-type', 'email'], 'error: --trigger-type must be one of cron, webhook, manual'],
    [['executions', 'job_1', '--limit', '500'], 'error: --limit must be a whole number from 1 to 100'],
    [['executions', 'job_1', '--limit'], 'error: option --limit needs a value'],
    [['trigger', 'job_1', '-p', 'service'], 'error: -p "service": expected key=value'],
    [['trigger', 'job_1', '--timeout', '60'], 'error: --timeout only applies with --wait'],
    [['update', 'job_1'], 'error: nothing to change: give -f <patch.json> and/or --set key=value'],
    [['create'], 'error: -f <file> is required'],
    [['entities', 'frob'], 'error: unknown entities command "frob"'],
    [['webhook', 'send', 'abcdefghijklmnop'], 'error: --secret <webhook secret> is required'],
  ])('jobs %j exits 2 with "%s" on stderr and sends nothing', async (argv, message) => {
    // Act
    const result = await runCli(argv);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain(message);
    expect(result.stdout).toBe('');
  });

  it("follows a command's usage error with its usage line", async () => {
    // Act
    const result = await runCli(['trigger', '--wait']);

    // Assess
    expect(result.stderr).toBe(
      [
        'error: missing argument <id>',
        'Usage: jobs trigger <id> [options]',
        'Run "jobs trigger --help" for its options and examples.',
        '',
      ].join('\n'),
    );
  });

  it('prints the overview to stderr and exits 2 without a command', async () => {
    // Act
    const result = await runCli([]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: jobs <command> [options]');
  });

  it('takes global options before the command too', async () => {
    // Prepare
    const service = fakeService(() => ({ status: 200, body: { jobs: [], next_cursor: null } }));

    // Act
    const result = await runCli(['--json', '--url', 'http://other.test', 'list'], { fetch: service.fetch });

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([]);
    expect(service.requests[0]?.url.origin).toBe('http://other.test');
  });
});

describe('help and version', () => {
  it('lists every command with global options and exit codes on --help', async () => {
    // Act
    const result = await runCli(['--help']);

    // Assess
    expect(result.code).toBe(0);
    for (const command of ['list', 'get <id>', 'trigger <id>', 'entities get <id>', 'cron <expression>']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command.replace(/[<>]/g, '\\$&')} `, 'm'));
    }
    expect(result.stdout).toContain('--api-key <key>');
    expect(result.stdout).toContain('Exit codes: 0 success');
  });

  it.each([
    ['list'],
    ['get'],
    ['create'],
    ['update'],
    ['delete'],
    ['enable'],
    ['disable'],
    ['trigger'],
    ['executions'],
    ['entities list'],
    ['entities get'],
    ['entities create'],
    ['entities update'],
    ['entities delete'],
    ['cron'],
    ['webhook send'],
    ['health'],
  ])('jobs %s --help shows its usage, options and an example, and exits 0', async (name) => {
    // Act
    const result = await runCli([...name.split(' '), '--help']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: jobs ${name}`));
    expect(result.stdout).toMatch(/\nExamples?:\n {2}jobs /);
    expect(result.stderr).toBe('');
  });

  it('shows the commands of a group with "jobs entities --help" and "jobs help entities"', async () => {
    // Act
    const results = [await runCli(['entities', '--help']), await runCli(['help', 'entities'])];

    // Assess
    for (const result of results) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: jobs entities <list|get|create|update|delete> [options]');
    }
  });

  it("prints package.json's version on --version", async () => {
    // Prepare
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };

    // Act
    const result = await runCli(['--version']);

    // Assess
    expect(result).toEqual({ code: 0, stdout: `${manifest.version}\n`, stderr: '' });
  });
});

describe('jobs list, get and delete', () => {
  it('prints jobs as an aligned table, with the filters sent as query parameters', async () => {
    // Prepare
    const service = fakeService(() => ({
      status: 200,
      body: { jobs: [job(), WEBHOOK_JOB], next_cursor: null },
    }));

    // Act
    const result = await runCli(['list', '--enabled', 'true', '--trigger-type', 'cron'], {
      fetch: service.fetch,
    });

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'ID                                        NAME                TRIGGER  SCHEDULE                  ENABLED  NEXT RUN',
        'job_11111111-1111-4111-8111-111111111111  Daily Health Check  cron     0 9 * * * (Europe/Paris)  yes      2027-03-02T08:00:00Z',
        'job_22222222-2222-4222-8222-222222222222  Deploy on Push      webhook  -                         no       -',
        '',
      ].join('\n'),
    );
    const request = service.requests[0];
    expect(request?.url.pathname).toBe('/jobs');
    expect(request?.url.searchParams.get('enabled')).toBe('true');
    expect(request?.url.searchParams.get('trigger_type')).toBe('cron');
    expect(request?.headers.get('authorization')).toBe(`Bearer ${API_KEY}`);
  });

  it('prints the raw jobs as JSON with --json', async () => {
    // Prepare
    const service = fakeService(() => ({
      status: 200,
      body: { jobs: [job(), WEBHOOK_JOB], next_cursor: null },
    }));

    // Act
    const result = await runCli(['list', '--json'], { fetch: service.fetch });

    // Assess
    expect(JSON.parse(result.stdout)).toEqual([job(), WEBHOOK_JOB]);
  });

  it('shows every field of one job, aligned, and its JSON with --json', async () => {
    // Prepare
    const service = fakeService(() => ({ status: 200, body: job() }));

    // Act
    const table = await runCli(['get', job().id], { fetch: service.fetch });
    const json = await runCli(['get', job().id, '--json'], { fetch: service.fetch });

    // Assess
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^id {21}job_11111111-1111-4111-8111-111111111111$/m);
    expect(table.stdout).toMatch(/^cron_schedule {10}0 9 \* \* \*$/m);
    expect(table.stdout).toMatch(/^description {12}-$/m);
    expect(table.stdout).toMatch(/^config {17}\{"timeout":600\}$/m);
    expect(JSON.parse(json.stdout)).toEqual(job());
    expect(service.requests[0]?.url.pathname).toBe(`/jobs/${job().id}`);
  });

  it('deletes a job and says so, or prints {"id", "deleted"} with --json', async () => {
    // Prepare
    const service = fakeService(() => ({ status: 204 }));

    // Act
    const text = await runCli(['delete', 'job_1'], { fetch: service.fetch });
    const json = await runCli(['delete', 'job_1', '--json'], { fetch: service.fetch });

    // Assess
    expect(text).toEqual({ code: 0, stdout: 'Deleted job job_1.\n', stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual({ id: 'job_1', deleted: true });
    expect(service.requests.map((request) => request.method)).toEqual(['DELETE', 'DELETE']);
  });
});

describe('API errors', () => {
  it('prints a 404 as one line naming the status and code, and exits 1', async () => {
    // Prepare
    const service = fakeService(() => notFound('x'));

    // Act
    const result = await runCli(['get', 'x'], { fetch: service.fetch });

    // Assess
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: 404 not_found: No job with id "x".\n' });
  });

  it('prints a 422 naming each field in its details, and never the API key', async () => {
    // Prepare
    const service = fakeService(() => ({
      status: 422,
      body: {
        error: {
          code: 'validation_failed',
          message: 'cron_schedule: is not a valid 5-field cron expression (and 1 more problem)',
          details: [
            {
              path: 'cron_schedule',
              message: 'is not a valid 5-field cron expression',
              code: 'invalid_cron',
            },
            { path: 'cron_timezone', message: 'is not a known IANA timezone', code: 'invalid' },
          ],
        },
      },
    }));

    // Act
    const result = await runCli(['update', 'job_1', '--set', 'cron_schedule=61 * * * *'], {
      fetch: service.fetch,
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: 422 validation_failed: cron_schedule: is not a valid 5-field cron expression; ' +
        'cron_timezone: is not a known IANA timezone\n',
    );
    expect(result.stdout + result.stderr).not.toContain(API_KEY);
  });

  it('says how to send a boolean when --set key=value sent a string the service refused', async () => {
    // Prepare
    const service = fakeService(() => ({
      status: 422,
      body: {
        error: {
          code: 'validation_failed',
          message: 'enabled: must be a boolean',
          details: [{ path: 'enabled', message: 'must be a boolean', code: 'invalid_type' }],
        },
      },
    }));

    // Act
    const result = await runCli(['update', 'job_1', '--set', 'enabled=false'], { fetch: service.fetch });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'error: 422 validation_failed: enabled: must be a boolean ' +
        '(--set enabled=… sends a string; use enabled:=<json> for other types)\n',
    );
  });

  it('says where it looked when the service cannot be reached', async () => {
    // Prepare
    const refused: typeof fetch = async () => {
      throw new TypeError('fetch failed');
    };

    // Act
    const result = await runCli(['list'], { fetch: refused });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: network_error: .*fetch failed.*is the service running at http:\/\/jobs\.test\?/,
    );
  });
});

describe('jobs create and update', () => {
  it('creates a job from a file and shows the webhook secret with a warning that it is shown once', async () => {
    // Prepare
    const dir = await tempDir();
    const body = { name: 'Deploy on Push', trigger_type: 'webhook', prompt_template: 'Deploy {{ branch }}' };
    await writeFile(join(dir, 'job.json'), JSON.stringify(body));
    const created = { ...WEBHOOK_JOB, webhook_secret: 'whsec_c2VjcmV0' };
    const service = fakeService(() => ({ status: 201, body: created }));

    // Act
    const result = await runCli(['create', '-f', 'job.json'], { fetch: service.fetch, cwd: dir });

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Created job job_22222222-2222-4222-8222-222222222222\.$/m);
    expect(result.stdout).toMatch(/^webhook_secret +whsec_c2VjcmV0$/m);
    expect(result.stdout).toContain('webhook_secret is shown only in this answer');
    expect(service.requests[0]?.method).toBe('POST');
    expect(JSON.parse(service.requests[0]?.body ?? '')).toEqual(body);
  });

  it('reads the job from stdin with -f -', async () => {
    // Prepare
    const service = fakeService(() => ({ status: 201, body: job() }));
    const body = { name: 'Ping', trigger_type: 'manual', prompt_template: 'Ping' };

    // Act
    const result = await runCli(['create', '-f', '-', '--json'], {
      fetch: service.fetch,
      readStdin: async () => JSON.stringify(body),
    });

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(service.requests[0]?.body ?? '')).toEqual(body);
    expect(JSON.parse(result.stdout)).toEqual(job());
  });

  it.each([
    ['missing.json', undefined, 'error: -f missing.json: cannot read the file (no such file)'],
    ['list.json', '[1, 2]', 'error: -f list.json must hold a JSON object'],
    ['broken.json', '{"name": ', 'error: -f broken.json is not valid JSON'],
  ])('refuses %s before sending anything (exit 2)', async (file, content, message) => {
    // Prepare
    const dir = await tempDir();
    if (content !== undefined) await writeFile(join(dir, file), content);

    // Act
    const result = await runCli(['create', '-f', file], { cwd: dir });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('sends the file and the --set fields, later ones winning, as one PATCH', async () => {
    // Prepare
    const dir = await tempDir();
    await writeFile(join(dir, 'patch.json'), JSON.stringify({ name: 'From file', config: { timeout: 60 } }));
    const service = fakeService(() => ({ status: 200, body: job() }));

    // Act
    const result = await runCli(
      [
        'update',
        'job_1',
        '-f',
        'patch.json',
        '--set',
        'name=Renamed',
        '--set',
        'enabled:=false',
        '--set',
        'description:=null',
      ],
      { fetch: service.fetch, cwd: dir },
    );

    // Assess
    expect(result.code).toBe(0);
    expect(service.requests[0]?.method).toBe('PATCH');
    expect(JSON.parse(service.requests[0]?.body ?? '')).toEqual({
      name: 'Renamed',
      config: { timeout: 60 },
      enabled: false,
      description: null,
    });
  });
});

describe('jobs trigger', () => {
  const started = { workflow_id: 'wf_0001', execution_id: 'exec_0001', status: 'queued' };

  /** A service whose execution goes through `statuses`, one per read, staying at the last. */
  function runningService(statuses: Execution['status'][], final: Partial<Execution> = {}) {
    let reads = 0;
    return fakeService((request) => {
      if (request.method === 'POST') return { status: 202, body: started };
      const status = statuses[Math.min(reads++, statuses.length - 1)] ?? 'queued';
      const done = reads >= statuses.length;
      return { status: 200, body: execution({ status, ...(done ? final : { duration_ms: null }) }) };
    });
  }

  it('sends -p parameters (strings, and JSON with :=), the override file and the idempotency key', async () => {
    // Prepare
    const dir = await tempDir();
    await writeFile(join(dir, 'override.json'), '{"timeout": 7200}');
    const service = fakeService(() => ({ status: 202, body: started }));

    // Act
    const result = await runCli(
      [
        'trigger',
        'job_1',
        '-p',
        'service=api',
        '-p',
        'replicas:=3',
        '--config-override-file',
        'override.json',
        '--idempotency-key',
        'deploy-42',
      ],
      { fetch: service.fetch, cwd: dir },
    );

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('workflow_id   wf_0001\nexecution_id  exec_0001\nstatus        queued\n');
    const request = service.requests[0];
    expect(request?.url.pathname).toBe('/jobs/job_1/trigger');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      parameters: { service: 'api', replicas: 3 },
      config_override: { timeout: 7200 },
    });
    expect(request?.headers.get('idempotency-key')).toBe('deploy-42');
  });

  it('with --wait polls until the run succeeds, prints its outcome and exits 0', async () => {
    // Prepare
    const service = runningService(['queued', 'running', 'succeeded'], { output: { healthy: true } });
    const sleeps: number[] = [];

    // Act
    const result = await runCli(['trigger', 'job_1', '--wait'], {
      fetch: service.fetch,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'workflow_id   wf_0001',
        'execution_id  exec_0001',
        'status        succeeded',
        'duration      1.2s',
        'output        {"healthy":true}',
        '',
      ].join('\n'),
    );
    expect(result.stderr).toBe('exec_0001: queued\nexec_0001: running\nexec_0001: succeeded\n');
    expect(service.requests.map((request) => `${request.method} ${request.url.pathname}`)).toEqual([
      'POST /jobs/job_1/trigger',
      'GET /jobs/job_1/executions/exec_0001',
      'GET /jobs/job_1/executions/exec_0001',
      'GET /jobs/job_1/executions/exec_0001',
    ]);
    expect(sleeps).toEqual([250, 500]);
  });

  it('with --wait exits 1 and prints the error message when the run fails', async () => {
    // Prepare
    const service = runningService(['running', 'failed'], { error_message: 'target answered 500' });

    // Act
    const result = await runCli(['trigger', 'job_1', '--wait'], { fetch: service.fetch });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^status +failed$/m);
    expect(result.stdout).toMatch(/^error_message +target answered 500$/m);
  });

  it('with --wait --json prints the finished execution as JSON', async () => {
    // Prepare
    const service = runningService(['succeeded'], { output: 'done' });

    // Act
    const result = await runCli(['trigger', 'job_1', '--wait', '--json'], { fetch: service.fetch });

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      execution_id: 'exec_0001',
      status: 'succeeded',
      output: 'done',
    });
    expect(result.stderr).toBe('');
  });

  it('with --wait gives up after --timeout, saying the run goes on, and exits 1', async () => {
    // Prepare
    const service = runningService(['running']);
    let clock = Date.parse('2027-03-01T09:00:00Z');

    // Act
    const result = await runCli(['trigger', 'job_1', '--wait', '--timeout', '5'], {
      fetch: service.fetch,
      now: () => new Date(clock),
      sleep: async (ms) => {
        clock += ms;
      },
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'error: execution exec_0001 is still running after 5 s; the run goes on.',
    );
    expect(clock - Date.parse('2027-03-01T09:00:00Z')).toBe(5000);
  });
});

describe('jobs executions', () => {
  const history = [
    execution({ execution_id: 'exec_0002', status: 'running', duration_ms: null, finished_at: null }),
    execution({
      execution_id: 'exec_0001',
      trigger_type: 'cron',
      scheduled_at: '2027-03-01T09:00:00.000Z',
    }),
  ];

  it('prints recent executions as a table with a count, asking for 20 by default', async () => {
    // Prepare
    const service = fakeService(() => ({
      status: 200,
      body: { total_count: 7, executions: history, next_cursor: null },
    }));

    // Act
    const result = await runCli(['executions', 'job_1'], { fetch: service.fetch });

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'EXECUTION  STATUS     TRIGGER  CREATED               DURATION  SCHEDULED AT',
        'exec_0002  running    manual   2027-03-01T09:00:00Z  -         -',
        'exec_0001  succeeded  cron     2027-03-01T09:00:00Z  1.2s      2027-03-01T09:00:00Z',
        '',
        '2 of 7 executions.',
        '',
      ].join('\n'),
    );
    expect(service.requests[0]?.url.searchParams.get('limit')).toBe('20');
  });

  it('prints the raw history with --json and passes --limit', async () => {
    // Prepare
    const body = { total_count: 2, executions: history, next_cursor: null };
    const service = fakeService(() => ({ status: 200, body }));

    // Act
    const result = await runCli(['executions', 'job_1', '--limit', '5', '--json'], { fetch: service.fetch });

    // Assess
    expect(JSON.parse(result.stdout)).toEqual(body);
    expect(service.requests[0]?.url.searchParams.get('limit')).toBe('5');
  });

  it('with --watch prints new and changed executions every 2 s until interrupted, then exits 0', async () => {
    // Prepare
    const finished = execution({ execution_id: 'exec_0002', status: 'succeeded', duration_ms: 500 });
    const newer = execution({
      execution_id: 'exec_0003',
      status: 'queued',
      duration_ms: null,
      finished_at: null,
    });
    const pages = [
      history,
      history,
      [finished, history[1] as Execution],
      [newer, finished, history[1] as Execution],
    ];
    let reads = 0;
    const service = fakeService(() => ({
      status: 200,
      body: { total_count: 3, executions: pages[Math.min(reads++, pages.length - 1)], next_cursor: null },
    }));
    const interrupt = new AbortController();
    const sleeps: number[] = [];

    // Act
    const result = await runCli(['executions', 'job_1', '--watch'], {
      fetch: service.fetch,
      signal: interrupt.signal,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 4) interrupt.abort();
      },
    });

    // Assess
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^EXECUTION +STATUS +TRIGGER +CREATED +DURATION +SCHEDULED AT$/);
    expect(lines.slice(1).map((line) => line.split(/ +/).slice(0, 2).join(' '))).toEqual([
      'exec_0001 succeeded',
      'exec_0002 running',
      'exec_0002 succeeded',
      'exec_0003 queued',
    ]);
    expect(sleeps).toEqual([2000, 2000, 2000, 2000]);
    expect(result.stderr).toContain('Ctrl+C to stop');
  });
});

describe('API key discovery', () => {
  it('reads the key "npm start" saved in .data/api-key for a local URL when none is given', async () => {
    // Prepare
    const dir = await tempDir();
    await mkdir(join(dir, '.data'));
    await writeFile(join(dir, '.data', 'api-key'), 'sjk_local-key\n');
    const service = fakeService(() => ({ status: 200, body: { jobs: [], next_cursor: null } }));

    // Act
    const result = await runCli(['list'], { fetch: service.fetch, cwd: dir, env: {} });

    // Assess
    expect(result.code).toBe(0);
    expect(service.requests[0]?.url.origin).toBe('http://127.0.0.1:3000');
    expect(service.requests[0]?.headers.get('authorization')).toBe('Bearer sjk_local-key');
    expect(result.stdout + result.stderr).not.toContain('sjk_local-key');
  });

  it('looks in $JOBS_DATA_DIR, relative to the current directory', async () => {
    // Prepare
    const dir = await tempDir();
    await mkdir(join(dir, 'state'));
    await writeFile(join(dir, 'state', 'api-key'), 'sjk_from-data-dir\n');
    const service = fakeService(() => ({ status: 200, body: { jobs: [], next_cursor: null } }));

    // Act
    const result = await runCli(['list'], {
      fetch: service.fetch,
      cwd: dir,
      env: { JOBS_API_URL: 'http://localhost:4000', JOBS_DATA_DIR: 'state' },
    });

    // Assess
    expect(result.code).toBe(0);
    expect(service.requests[0]?.headers.get('authorization')).toBe('Bearer sjk_from-data-dir');
  });

  it('prefers --api-key, then JOBS_API_KEY, over the key file', async () => {
    // Prepare
    const dir = await tempDir();
    await mkdir(join(dir, '.data'));
    await writeFile(join(dir, '.data', 'api-key'), 'sjk_file\n');
    const service = fakeService(() => ({ status: 200, body: { jobs: [], next_cursor: null } }));

    // Act
    await runCli(['list', '--api-key', 'sjk_flag'], {
      fetch: service.fetch,
      cwd: dir,
      env: { JOBS_API_KEY: 'sjk_env' },
    });
    await runCli(['list'], { fetch: service.fetch, cwd: dir, env: { JOBS_API_KEY: 'sjk_env' } });

    // Assess
    expect(service.requests.map((request) => request.headers.get('authorization'))).toEqual([
      'Bearer sjk_flag',
      'Bearer sjk_env',
    ]);
  });

  it('without a key file says to run "npm start" or set JOBS_API_KEY, and exits 2', async () => {
    // Prepare
    const dir = await tempDir();

    // Act
    const result = await runCli(['list'], { cwd: dir, env: {} });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no API key: ${join(dir, '.data', 'api-key')} does not exist`);
    expect(result.stderr).toContain('"npm start"');
    expect(result.stderr).toContain('JOBS_API_KEY');
  });

  it('never reads a key file for a remote URL', async () => {
    // Prepare
    const dir = await tempDir();
    await mkdir(join(dir, '.data'));
    await writeFile(join(dir, '.data', 'api-key'), 'sjk_local-only\n');

    // Act
    const result = await runCli(['list'], { cwd: dir, env: { JOBS_API_URL: 'https://jobs.example.com' } });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: no API key for https://jobs.example.com: set JOBS_API_KEY or pass --api-key\n',
    );
  });
});

describe('jobs webhook send', () => {
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const BODY = '{"parameters": {"branch_name": "main"},   "metadata": {"source": "ci"}}';
  const accepted = { status: 202, body: { workflow_id: 'wf_9', execution_id: 'exec_9', status: 'queued' } };

  it('signs the exact bytes with hex HMAC-SHA256 and POSTs them to <api url>/webhooks/<path> without the API key', async () => {
    // Prepare
    const service = fakeService(() => accepted);

    // Act
    const result = await runCli(
      ['webhook', 'send', 'abcdefghijklmnop', '--secret', SECRET, '-d', BODY, '--id', 'push-1'],
      {
        fetch: service.fetch,
      },
    );

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('workflow_id   wf_9\nexecution_id  exec_9\nstatus        queued\n');
    const request = service.requests[0];
    expect(request?.url.href).toBe(`${API_URL}/webhooks/abcdefghijklmnop`);
    expect(request?.body).toBe(BODY);
    expect(verifyHexHmac(BODY, request?.headers.get('x-webhook-signature') ?? '', [SECRET])).toBe(true);
    expect(request?.headers.get('x-webhook-id')).toBe('push-1');
    expect(request?.headers.get('authorization')).toBeNull();
  });

  it('signs Standard Webhooks headers that the standardwebhooks library verifies, sent to a full URL', async () => {
    // Prepare
    const service = fakeService(() => accepted);
    const url = 'https://hooks.example.com/prod/webhooks/abcdefghijklmnop';

    // Act
    const result = await runCli(
      ['webhook', 'send', url, '--secret', SECRET, '-d', BODY, '--scheme', 'standard', '--id', 'msg_42'],
      { fetch: service.fetch },
    );

    // Assess
    expect(result.code).toBe(0);
    const request = service.requests[0];
    expect(request?.url.href).toBe(url);
    const headers = Object.fromEntries(request?.headers.entries() ?? []);
    expect(headers['webhook-id']).toBe('msg_42');
    expect(() => new Webhook(SECRET).verify(request?.body ?? '', headers)).not.toThrow();
    expect(headers['x-webhook-signature']).toBeUndefined();
  });

  it('takes the secret from JOBS_WEBHOOK_SECRET and the body from a file with -d @file', async () => {
    // Prepare
    const dir = await tempDir();
    await writeFile(join(dir, 'payload.json'), BODY);
    const service = fakeService(() => accepted);

    // Act
    const result = await runCli(['webhook', 'send', 'abcdefghijklmnop', '-d', '@payload.json'], {
      fetch: service.fetch,
      cwd: dir,
      env: { JOBS_API_URL: API_URL, JOBS_WEBHOOK_SECRET: SECRET },
    });

    // Assess
    expect(result.code).toBe(0);
    expect(service.requests[0]?.body).toBe(BODY);
    expect(verifyHexHmac(BODY, service.requests[0]?.headers.get('x-webhook-signature') ?? '', [SECRET])).toBe(
      true,
    );
  });

  it('reports a refused delivery as an error line and exits 1', async () => {
    // Prepare
    const service = fakeService(() => ({
      status: 401,
      body: { error: { code: 'invalid_signature', message: 'The webhook signature could not be verified.' } },
    }));

    // Act
    const result = await runCli(['webhook', 'send', 'abcdefghijklmnop', '--secret', 'wrong'], {
      fetch: service.fetch,
    });

    // Assess
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: 401 invalid_signature: The webhook signature could not be verified.\n',
    });
  });

  it('refuses a secret the standard scheme cannot use before sending anything', async () => {
    // Act
    const result = await runCli([
      'webhook',
      'send',
      'abcdefghijklmnop',
      '--secret',
      'not base64!',
      '--scheme',
      'standard',
    ]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--secret: The signing secret must be "whsec_" followed by non-empty base64.',
    );
  });
});

describe('jobs entities and health', () => {
  const entity: Entity = {
    id: 'agent-uuid',
    type: 'agent',
    name: 'Health checker',
    description: null,
    target: { type: 'http', url: 'https://agent.example.com/run' },
    default: false,
    created_at: '2027-03-01T08:00:00.000Z',
    updated_at: '2027-03-01T08:00:00.000Z',
  };

  it('lists entities with their targets', async () => {
    // Prepare
    const echo: Entity = {
      ...entity,
      id: 'dry-run',
      type: 'workflow',
      name: 'Dry run',
      target: { type: 'echo' },
      default: true,
    };
    const service = fakeService(() => ({
      status: 200,
      body: { entities: [entity, echo], next_cursor: null },
    }));

    // Act
    const result = await runCli(['entities', 'list'], { fetch: service.fetch });

    // Assess
    expect(result.stdout).toBe(
      [
        'ID          TYPE      NAME            TARGET                              DEFAULT  CREATED',
        'agent-uuid  agent     Health checker  http https://agent.example.com/run           2027-03-01T08:00:00Z',
        'dry-run     workflow  Dry run         echo                                yes      2027-03-01T08:00:00Z',
        '',
      ].join('\n'),
    );
  });

  it('creates an entity and points out the signing secret shown once', async () => {
    // Prepare
    const service = fakeService(() => ({ status: 201, body: { ...entity, signing_secret: 'whsec_abc' } }));
    const body = { type: 'agent', name: 'Health checker', target: entity.target };

    // Act
    const result = await runCli(['entities', 'create', '-f', '-'], {
      fetch: service.fetch,
      readStdin: async () => JSON.stringify(body),
    });

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^signing_secret +whsec_abc$/m);
    expect(result.stdout).toContain('signing_secret is shown only in this answer');
    expect(service.requests[0]?.url.pathname).toBe('/entities');
  });

  it('checks health without an API key', async () => {
    // Prepare
    const service = fakeService(() => ({ status: 200, body: { status: 'ok' } }));

    // Act
    const result = await runCli(['health'], {
      fetch: service.fetch,
      env: { JOBS_API_URL: 'https://jobs.example.com' },
    });

    // Assess
    expect(result).toEqual({ code: 0, stdout: 'ok  https://jobs.example.com\n', stderr: '' });
    expect(service.requests[0]?.headers.get('authorization')).toBeNull();
  });
});
