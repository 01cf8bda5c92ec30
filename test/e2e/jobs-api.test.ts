import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient, JobError, NotFoundError } from '../../sdk/index.js';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.js';
import { DAILY_HEALTH_CHECK, REFERENCE_ENTITIES, REFERENCE_JOBS } from '../support/reference-jobs.js';

let runtime: TestRuntime;
let client: ControlPlaneClient;

beforeAll(async () => {
  runtime = await startTestRuntime();
  client = new ControlPlaneClient({ baseUrl: runtime.url, apiKey: runtime.apiKey });
  // Jobs must name existing entities of their type; jobs without one run on the deployment default.
  const echo = { type: 'echo' } as const;
  await Promise.all([
    ...REFERENCE_ENTITIES.map((entity) => client.entities.create(entity)),
    client.entities.create({ type: 'workflow', name: 'Default workflow', target: echo, default: true }),
  ]);
});

afterAll(async () => {
  await runtime?.cleanup();
});

async function raw(
  method: string,
  path: string,
  init: { body?: string | Buffer; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${runtime.apiKey}`, ...init.headers },
    body: init.body,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as unknown) : undefined,
  };
}

describe('jobs API through the SDK', () => {
  it('runs the reference quick start: create, get, update, disable/enable, list filters, delete', async () => {
    // Prepare
    const body = DAILY_HEALTH_CHECK;

    // Act
    const job = await client.jobs.create(body);
    const fetched = await client.jobs.get(job.id);
    const updated = await client.jobs.update(job.id, { cron_schedule: '0 10 * * *', cron_timezone: 'UTC' });
    const disabled = await client.jobs.disable(job.id);
    const disabledCron = await client.jobs.list({ enabled: false, trigger_type: 'cron' });
    const enabled = await client.jobs.enable(job.id);
    const enabledJobs = await client.jobs.list({ enabled: true });
    const webhookJobs = await client.jobs.list({ trigger_type: 'webhook' });
    await client.jobs.delete(job.id);
    const afterDelete = client.jobs.get(job.id);

    // Assess
    expect(job.id).toMatch(/^job_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(job).toMatchObject({ ...body, enabled: true, cron_timezone: 'UTC', executor_type: 'auto' });
    expect(job.created_at).toBe(job.updated_at);
    // GET /jobs/{id} adds the job's alert counters (README, Alerts).
    expect(fetched).toEqual({
      ...job,
      consecutive_failures: 0,
      last_failure_at: null,
      last_success_at: null,
    });
    expect(updated).toMatchObject({ cron_schedule: '0 10 * * *', name: 'Daily Health Check' });
    expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(job.updated_at));
    expect(disabled.enabled).toBe(false);
    expect(disabledCron.map((j) => j.id)).toContain(job.id);
    expect(enabled.enabled).toBe(true);
    expect(enabledJobs.map((j) => j.id)).toContain(job.id);
    expect(webhookJobs.map((j) => j.id)).not.toContain(job.id);
    await expect(afterDelete).rejects.toBeInstanceOf(NotFoundError);
    await expect(afterDelete).rejects.toMatchObject({
      name: 'NotFoundError',
      status: 404,
      code: 'not_found',
    });
  });

  it.each(Object.entries(REFERENCE_JOBS))(
    'accepts the reference body "%s" as written',
    async (_name, body) => {
      // Act
      const job = await client.jobs.create(body);

      // Assess
      expect(job).toMatchObject(body);
      // GET shows what create showed, less the webhook secret (shown once) and plus its rotation state.
      const { webhook_secret: secret, ...shown } = job;
      expect(await client.jobs.get(job.id)).toMatchObject(shown);
      if (body.trigger_type === 'webhook') {
        expect(secret).toMatch(/^whsec_/);
        expect(job.webhook_url).toBe(`${runtime.url}/webhooks/${job.webhook_path}`);
      } else {
        expect(secret).toBeUndefined();
        expect(job.webhook_url).toBeNull();
      }
    },
  );

  it('reports a JobError with status, code and details for the reference error example and bad input', async () => {
    // Act
    const missing = await client.jobs.get('invalid-id').catch((error: unknown) => error);
    const invalid = await client.jobs
      .create({ name: 'x', trigger_type: 'cron', prompt_template: 'p', cron_schedule: '61 * * * *' })
      .catch((error: unknown) => error);

    // Assess
    expect(missing).toBeInstanceOf(JobError);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    expect(invalid).toMatchObject({ status: 422, code: 'validation_failed' });
    expect((invalid as JobError).details.map((detail) => detail.path)).toEqual(['cron_schedule']);
  });

  it('pages the list newest first with limit and cursor', async () => {
    // Prepare
    const created = [];
    for (let index = 0; index < 3; index++) {
      created.push(
        await client.jobs.create({ name: `page ${index}`, trigger_type: 'manual', prompt_template: 'p' }),
      );
    }

    // Act
    const first = await client.jobs.listPage({ limit: 2 });
    const second = await client.jobs.listPage({ limit: 2, cursor: first.next_cursor ?? '' });

    // Assess
    expect(first.jobs.map((job) => job.id)).toEqual([created[2]?.id, created[1]?.id]);
    expect(second.jobs[0]?.id).toBe(created[0]?.id);
  });

  it('keeps every one of several concurrent partial updates', async () => {
    // Prepare
    const job = await client.jobs.create({
      name: 'concurrent',
      trigger_type: 'manual',
      prompt_template: 'p',
    });
    const patches = [
      { description: 'described' },
      { system_prompt: 'be brief' },
      { config: { timeout: 60 } },
      { execution_environment: { region: 'eu' } },
      { prompt_template: 'changed' },
    ];

    // Act
    await Promise.all(patches.map((patch) => client.jobs.update(job.id, patch)));
    const final = await client.jobs.get(job.id);

    // Assess
    expect(final).toMatchObject(Object.assign({}, ...patches));
  });

  it('never resurrects a job deleted while it is being patched', async () => {
    // Prepare
    const job = await client.jobs.create({ name: 'doomed', trigger_type: 'manual', prompt_template: 'p' });

    // Act
    const outcomes = await Promise.allSettled([
      client.jobs.update(job.id, { description: 'a' }),
      client.jobs.delete(job.id),
      client.jobs.update(job.id, { description: 'b' }),
      client.jobs.disable(job.id),
    ]);

    // Assess
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ status: 404 });
    }
    await expect(client.jobs.get(job.id)).rejects.toMatchObject({ status: 404 });
  });
});

describe('jobs API over raw HTTP', () => {
  it('answers /health without a key and requires the key elsewhere', async () => {
    // Act
    const health = await fetch(`${runtime.url}/health`);
    const noKey = await fetch(`${runtime.url}/jobs`);
    const wrongKey = await raw('GET', '/jobs', { headers: { authorization: 'Bearer wrong' } });

    // Assess
    expect(health.status).toBe(200);
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('www-authenticate')).toBe('Bearer');
    expect(wrongKey.status).toBe(401);
  });

  const json = { 'content-type': 'application/json' };
  const battery: [
    string,
    string,
    string,
    { body?: string | Buffer; headers?: Record<string, string> },
    number,
  ][] = [
    ['malformed JSON', 'POST', '/jobs', { body: '{"name": ', headers: json }, 400],
    ['a JSON array', 'POST', '/jobs', { body: '[]', headers: json }, 400],
    ['a JSON string', 'POST', '/jobs', { body: '"job"', headers: json }, 400],
    ['null', 'POST', '/jobs', { body: 'null', headers: json }, 400],
    ['no body', 'POST', '/jobs', {}, 400],
    ['invalid UTF-8', 'POST', '/jobs', { body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers: json }, 400],
    ['an empty object', 'POST', '/jobs', { body: '{}', headers: json }, 422],
    [
      'an unknown field',
      'POST',
      '/jobs',
      { body: '{"name":"n","trigger_type":"manual","prompt_template":"p","colour":1}', headers: json },
      422,
    ],
    [
      'a body over 256 KiB',
      'POST',
      '/jobs',
      { body: JSON.stringify({ name: 'x'.repeat(300 * 1024) }), headers: json },
      413,
    ],
    ['an unknown job', 'GET', '/jobs/job_00000000-0000-4000-8000-000000000000', {}, 404],
    ['a malformed job id', 'GET', '/jobs/%E0%A4%A', {}, 404],
    ['an unknown route', 'GET', '/nope', {}, 404],
    ['a wrong method', 'PUT', '/jobs', { body: '{}' }, 405],
    ['a bad limit', 'GET', '/jobs?limit=0', {}, 422],
    ['a bad filter', 'GET', '/jobs?trigger_type=sometimes', {}, 422],
    ['a forged cursor', 'GET', '/jobs?cursor=abc', {}, 400],
    [
      'a bad patch',
      'PATCH',
      '/jobs/job_00000000-0000-4000-8000-000000000000',
      { body: '{"enabled":"yes"}', headers: json },
      404,
    ],
  ];

  it.each(battery)('answers %s with a 4xx in the error shape', async (_name, method, path, init, status) => {
    // Act
    const response = await raw(method, path, init);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body).toEqual({
      error: { code: expect.any(String), message: expect.any(String), details: expect.any(Array) },
    });
  });

  it('names each bad field of a create body in details[].path', async () => {
    // Act
    const response = await raw('POST', '/jobs', {
      body: JSON.stringify({
        name: '',
        trigger_type: 'cron',
        prompt_template: 'p',
        cron_timezone: 'Mars/Olympus',
        executor_type: 'specific_queue',
        colour: 'blue',
      }),
      headers: json,
    });

    // Assess
    expect(response.status).toBe(422);
    const paths = (response.body as { error: { details: { path: string }[] } }).error.details.map(
      (d) => d.path,
    );
    expect(paths.sort()).toEqual(['colour', 'cron_timezone', 'name']);
  });
});
