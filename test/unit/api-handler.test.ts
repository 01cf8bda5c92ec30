import { describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds } from '../../shared/adapters/system.js';
import type { Entity, EntityWithSecret } from '../../shared/domain/entity.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import type { Execution, ExecutionListResponse, TriggerResponse } from '../../shared/domain/execution.js';
import type { Job } from '../../shared/domain/job.js';
import type { JobStore } from '../../shared/ports.js';
import { type ApiEventInput, type ApiResult, callApi } from '../support/api-events.js';
import { MemoryApiKeyStore, MemoryAuditLog } from '../support/memory-access.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  FakeSecretBox,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  MemoryWebhookStore,
  makeEntity,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
} from '../support/memory-stores.js';
import {
  DAILY_HEALTH_CHECK,
  DEPLOY_ON_PUSH,
  EMERGENCY_ROLLBACK,
  NIGHTLY_BACKUP,
  REFERENCE_ENTITIES,
  WEEKLY_SECURITY_SCAN,
} from '../support/reference-jobs.js';
import { testApiHandler } from '../support/services.js';

const API_KEY = 'test-key';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const START = Date.parse('2025-01-15T09:00:00.000Z');
const MAX_BODY_BYTES = 256 * 1024;
const JOB_ID = /^job_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UNKNOWN_JOB_ID = 'job_550e8400-e29b-41d4-a716-446655440000';

const MANUAL = { name: 'Manual job', trigger_type: 'manual', prompt_template: 'Do the thing' };

interface ErrorBody {
  code: string;
  message: string;
  details: ErrorDetail[];
}

/** The entities the reference's jobs name, plus the default echo entity that jobs without one run on. */
const ENTITIES = [
  makeEntity({ id: 'echo-default', default: true }),
  ...REFERENCE_ENTITIES.map(({ id, type }) => makeEntity({ id, type })),
];

/**
 * A handler over in-memory stores (the reference's entities and a default echo entity in place, an
 * open deployment that accepts any queue or environment), a clock that moves only when told,
 * sequential ids and captured logs.
 */
function setup(options: { store?: JobStore; entities?: Entity[] } = {}) {
  const entities = new MemoryEntityStore();
  // The memory store's create never awaits, so the entities are in place when it returns.
  for (const entity of options.entities ?? ENTITIES) void entities.create(entity, null);
  const store = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const queue = new RecordingQueue();
  const scheduler = new MemoryScheduler();
  const lines: string[] = [];
  let now = START;
  let issued = 0;
  const handler = testApiHandler({
    jobStore: options.store ?? store,
    webhooks: new MemoryWebhookStore(),
    entities,
    executions,
    queue,
    secrets: new FakeSecretBox(),
    deployment: openDeployment(),
    apiKeys: HashedApiKeys.fromKeys([API_KEY]),
    apiKeyStore: new MemoryApiKeyStore(),
    auditLog: new MemoryAuditLog(),
    scheduler,
    clock: { now: () => new Date(now) },
    ids: {
      ...randomIds,
      jobId: () => `job_00000000-0000-4000-8000-${(++issued).toString(16).padStart(12, '0')}`,
    },
    logger: createLogger({ level: 'debug', sink: (line) => lines.push(line) }),
    metrics: new RecordingMetrics(),
  });
  const call = (input: ApiEventInput) => callApi(handler, input);
  const authed = (input: ApiEventInput) => call({ ...input, headers: { ...AUTH, ...input.headers } });
  const create = async (body: object): Promise<Job> => {
    const result = await authed({ method: 'POST', path: '/jobs', body: JSON.stringify(body) });
    expect(result.status).toBe(201);
    return result.json as Job;
  };
  return {
    store,
    entities,
    executions,
    queue,
    scheduler,
    lines,
    call,
    authed,
    create,
    advance: (millis: number) => {
      now += millis;
    },
    logEntries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Asserts the one error shape: exactly `{error: {code, message, details}}`. */
function expectError(result: ApiResult, status: number, code: string): ErrorBody {
  expect(result.status).toBe(status);
  expect(result.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = result.json as { error: ErrorBody };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(Array.isArray(body.error.details)).toBe(true);
  return body.error;
}

function jobsOf(result: ApiResult): Job[] {
  return (result.json as { jobs: Job[] }).jobs;
}

function cursorOf(result: ApiResult): string | null {
  return (result.json as { next_cursor: string | null }).next_cursor;
}

/** Follows `next_cursor` from the first page to the last, returning every page. */
async function walkPages(
  authed: (input: ApiEventInput) => Promise<ApiResult>,
  query: Record<string, string>,
): Promise<ApiResult[]> {
  const pages: ApiResult[] = [];
  let cursor: string | null = null;
  do {
    const page = await authed({ method: 'GET', path: '/jobs', query: cursor ? { ...query, cursor } : query });
    expect(page.status).toBe(200);
    pages.push(page);
    cursor = cursorOf(page);
  } while (cursor !== null && pages.length < 50);
  return pages;
}

/** The paths of `/jobs/{id}` routes, each with the method and a body it accepts. */
function jobRoutes(id: string): ApiEventInput[] {
  return [
    { method: 'GET', path: `/jobs/${id}` },
    { method: 'PATCH', path: `/jobs/${id}`, body: '{"enabled":false}' },
    { method: 'DELETE', path: `/jobs/${id}` },
    { method: 'POST', path: `/jobs/${id}/enable` },
    { method: 'POST', path: `/jobs/${id}/disable` },
  ];
}

describe('POST /jobs', () => {
  it('creates a job: 201, a job_<uuid> id, a location header and every field with its default', async () => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({
      method: 'POST',
      path: '/jobs',
      body: JSON.stringify(DAILY_HEALTH_CHECK),
    });

    // Assess
    expect(result.status).toBe(201);
    const job = result.json as Job;
    expect(job.id).toMatch(JOB_ID);
    expect(result.headers.location).toBe(`/jobs/${job.id}`);
    expect(result.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(job).toEqual({
      id: job.id,
      name: 'Daily Health Check',
      description: null,
      trigger_type: 'cron',
      cron_schedule: '0 9 * * *',
      cron_timezone: 'UTC',
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: 'agent-uuid',
      prompt_template: 'Check the health of all production services',
      system_prompt: null,
      executor_type: 'auto',
      worker_queue_name: null,
      environment_name: null,
      config: {},
      execution_environment: {},
      enabled: true,
      created_at: '2025-01-15T09:00:00.000Z',
      updated_at: '2025-01-15T09:00:00.000Z',
      webhook_path: null,
      webhook_url: null,
      next_run_at: '2025-01-16T09:00:00.000Z',
      schedule_expression: ['cron(0 9 * * ? *)'],
    });
    expect(api.store.size).toBe(1);
  });

  it.each([
    ['Daily Health Check', DAILY_HEALTH_CHECK],
    ['Nightly Backup', NIGHTLY_BACKUP],
    ['Deploy on Push', DEPLOY_ON_PUSH],
    ['Emergency Rollback', EMERGENCY_ROLLBACK],
    ['Weekly Security Scan', WEEKLY_SECURITY_SCAN],
  ])('creates the reference job "%s" and reads it back', async (_name, body) => {
    // Prepare
    const api = setup();

    // Act
    const created = await api.authed({ method: 'POST', path: '/jobs', body: JSON.stringify(body) });
    const read = await api.authed({ method: 'GET', path: `/jobs/${(created.json as Job).id}` });

    // Assess
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject(body);
    expect(read.status).toBe(200);
    // The webhook secret is shown by the create answer only.
    const { webhook_secret: _secret, ...shown } = created.json as Job;
    expect(read.json).toEqual(shown);
  });

  it('answers 422 naming every bad field and stores nothing', async () => {
    // Prepare
    const api = setup();
    const body = { trigger_type: 'manual', prompt_template: 'x', id: 'job_x' };

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body: JSON.stringify(body) });

    // Assess
    const error = expectError(result, 422, 'validation_failed');
    expect(error.details.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: 'name', code: 'required' },
      { path: 'id', code: 'unknown_field' },
    ]);
    expect(api.store.size).toBe(0);
  });

  it('answers 422 for a cross-field rule (cron without a schedule)', async () => {
    // Prepare
    const api = setup();
    const body = { ...MANUAL, trigger_type: 'cron' };

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body: JSON.stringify(body) });

    // Assess
    const error = expectError(result, 422, 'validation_failed');
    expect(error.details).toEqual([
      { path: 'cron_schedule', code: 'required', message: 'is required when trigger_type is "cron"' },
    ]);
  });
});

describe('GET /jobs/{id}', () => {
  it('returns the job', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);

    // Act
    const result = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toEqual(created);
  });

  it("shows a cron job stored before today's validation, whose expression cannot be scheduled, as not firing", async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    const stored = await api.store.get(created.id);
    if (!stored) throw new Error('the job should exist');
    await api.store.replace({ ...stored.job, cron_schedule: '0 2 */10 * 1' }, stored.version, stored.job);

    // Act
    const result = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      cron_schedule: '0 2 */10 * 1',
      next_run_at: null,
      schedule_expression: [],
    });
  });

  it('answers 404 for a well-formed id that does not exist', async () => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({ method: 'GET', path: `/jobs/${UNKNOWN_JOB_ID}` });

    // Assess
    const error = expectError(result, 404, 'not_found');
    expect(error.message).toBe(`No job with id "${UNKNOWN_JOB_ID}".`);
    expect(error.details).toEqual([]);
  });

  it.each([
    'invalid-id',
    'job_',
    'job_uuid',
    '550e8400-e29b-41d4-a716-446655440000',
    'JOB_550e8400-e29b-41d4-a716-446655440000',
    'job_550E8400-E29B-41D4-A716-446655440000',
    'job_550e8400-e29b-41d4-a716-44665544000',
    'job_550e8400-e29b-41d4-a716-4466554400000',
    'job_550e8400e29b41d4a716446655440000',
    'job_550e8400-e29b-41d4-a716-446655440000%20',
    '%E2%82%AC',
    '%',
  ])('answers 404 on every job route for the id "%s", which is not job_<uuid>', async (id) => {
    // Prepare
    const api = setup();
    await api.create(MANUAL);

    // Act
    const results = await Promise.all(jobRoutes(id).map((input) => api.authed(input)));

    // Assess
    for (const result of results) expectError(result, 404, 'not_found');
    expect(api.store.size).toBe(1);
  });
});

describe('GET /jobs', () => {
  it('lists nothing with a null cursor when there are no jobs', async () => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({ method: 'GET', path: '/jobs' });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ jobs: [], next_cursor: null });
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['no filter', {}, ['cron off', 'manual on', 'webhook off', 'cron on']],
    ['enabled=true', { enabled: 'true' }, ['manual on', 'cron on']],
    ['enabled=True (Python)', { enabled: 'True' }, ['manual on', 'cron on']],
    ['enabled=false', { enabled: 'false' }, ['cron off', 'webhook off']],
    ['trigger_type=cron', { trigger_type: 'cron' }, ['cron off', 'cron on']],
    ['trigger_type=webhook', { trigger_type: 'webhook' }, ['webhook off']],
    ['trigger_type=manual', { trigger_type: 'manual' }, ['manual on']],
    ['trigger_type=cron&enabled=false', { trigger_type: 'cron', enabled: 'false' }, ['cron off']],
    ['trigger_type=webhook&enabled=true', { trigger_type: 'webhook', enabled: 'true' }, []],
  ])('filters with %s, newest first', async (_label, query, expectedNames) => {
    // Prepare
    const api = setup();
    for (const body of [
      { ...NIGHTLY_BACKUP, name: 'cron on' },
      { ...DEPLOY_ON_PUSH, name: 'webhook off', enabled: false },
      { ...EMERGENCY_ROLLBACK, name: 'manual on' },
      { ...WEEKLY_SECURITY_SCAN, name: 'cron off', enabled: false },
    ]) {
      await api.create(body);
      api.advance(1000);
    }

    // Act
    const result = await api.authed({ method: 'GET', path: '/jobs', query });

    // Assess
    expect(result.status).toBe(200);
    expect(jobsOf(result).map((job) => job.name)).toEqual(expectedNames);
    expect(cursorOf(result)).toBeNull();
  });

  it('walks 5 jobs with limit=2: each exactly once, newest first, the last page with a null cursor', async () => {
    // Prepare
    const api = setup();
    const created: Job[] = [];
    for (let index = 1; index <= 5; index++) {
      created.push(await api.create({ ...MANUAL, name: `job ${index}` }));
      api.advance(60_000);
    }

    // Act
    const pages = await walkPages(api.authed, { limit: '2' });

    // Assess
    expect(pages.map((page) => jobsOf(page).map((job) => job.name))).toEqual([
      ['job 5', 'job 4'],
      ['job 3', 'job 2'],
      ['job 1'],
    ]);
    expect(pages.map(cursorOf).map((cursor) => cursor === null)).toEqual([false, false, true]);
    expect(pages.flatMap(jobsOf)).toEqual([...created].reverse());
  });

  it('orders jobs created in the same millisecond by id and still walks each once', async () => {
    // Prepare
    const api = setup();
    const ids: string[] = [];
    for (let index = 1; index <= 5; index++)
      ids.push((await api.create({ ...MANUAL, name: `job ${index}` })).id);

    // Act
    const pages = await walkPages(api.authed, { limit: '2' });

    // Assess
    expect(pages.flatMap(jobsOf).map((job) => job.id)).toEqual([...ids].sort().reverse());
    expect(pages).toHaveLength(3);
  });

  it('pages through a filtered list', async () => {
    // Prepare
    const api = setup();
    for (let index = 1; index <= 6; index++) {
      await api.create(
        index % 2 === 0
          ? { ...MANUAL, name: `manual ${index}` }
          : { ...DEPLOY_ON_PUSH, name: `hook ${index}` },
      );
      api.advance(1000);
    }

    // Act
    const pages = await walkPages(api.authed, { trigger_type: 'manual', limit: '1' });

    // Assess
    expect(pages.map((page) => jobsOf(page).map((job) => job.name))).toEqual([
      ['manual 6'],
      ['manual 4'],
      ['manual 2'],
    ]);
    expect(cursorOf(pages[2] as ApiResult)).toBeNull();
  });

  it('returns one page and a null cursor when limit equals the number of jobs', async () => {
    // Prepare
    const api = setup();
    for (let index = 1; index <= 3; index++) {
      await api.create({ ...MANUAL, name: `job ${index}` });
      api.advance(1000);
    }

    // Act
    const result = await api.authed({ method: 'GET', path: '/jobs', query: { limit: '3' } });

    // Assess
    expect(jobsOf(result)).toHaveLength(3);
    expect(cursorOf(result)).toBeNull();
  });

  it('defaults to 50 jobs a page', async () => {
    // Prepare
    const api = setup();
    for (let index = 1; index <= 51; index++) await api.create({ ...MANUAL, name: `job ${index}` });

    // Act
    const result = await api.authed({ method: 'GET', path: '/jobs' });

    // Assess
    expect(jobsOf(result)).toHaveLength(50);
    expect(cursorOf(result)).not.toBeNull();
  });

  it.each([
    'abc',
    '!!!',
    Buffer.from('{"after":"x"}').toString('base64url'),
    Buffer.from('null').toString('base64url'),
    Buffer.from('{"after":42}').toString('base64url'),
    Buffer.from('{"after":"2025-01-15T09:00:00.000Z#job_x"}').toString('base64url'),
  ])('answers 400 invalid_cursor for the cursor %j', async (cursor) => {
    // Prepare
    const api = setup();
    await api.create(MANUAL);

    // Act
    const result = await api.authed({ method: 'GET', path: '/jobs', query: { cursor } });

    // Assess
    const error = expectError(result, 400, 'invalid_cursor');
    expect(error.details).toEqual([
      { path: 'cursor', code: 'invalid_cursor', message: 'is not a cursor this service issued' },
    ]);
  });

  it.each<[Record<string, string>, string]>([
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ limit: 'abc' }, 'limit'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ trigger_type: 'hourly' }, 'trigger_type'],
    [{ offset: '10' }, 'offset'],
  ])('answers 422 for the query %j, naming %s', async (query, path) => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({ method: 'GET', path: '/jobs', query });

    // Assess
    const error = expectError(result, 422, 'validation_failed');
    expect(error.details.map((detail) => detail.path)).toEqual([path]);
  });
});

describe('PATCH /jobs/{id}', () => {
  it('changes only the fields sent, and moves updated_at', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    api.advance(5000);

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: JSON.stringify({ description: 'Backup the production and staging databases' }),
    });
    const read = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      ...created,
      description: 'Backup the production and staging databases',
      updated_at: '2025-01-15T09:00:05.000Z',
    });
    expect(read.json).toEqual(result.json);
  });

  // The clock stands at 2025-01-15T09:00Z; Nightly Backup fires at 02:00 New York (07:00Z).
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'update cron schedule',
      { cron_schedule: '0 10 * * *', cron_timezone: 'UTC' },
      { next_run_at: '2025-01-15T10:00:00.000Z', schedule_expression: ['cron(0 10 * * ? *)'] },
    ],
    ['update prompt template', { prompt_template: 'Updated prompt with {{ new_variable }} ' }, {}],
    ['disable job', { enabled: false }, { next_run_at: null }],
  ])('applies the reference update "%s"', async (_label, patch, schedule) => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: JSON.stringify(patch),
    });

    // Assess
    expect(result.status).toBe(200);
    expect(created.next_run_at).toBe('2025-01-16T07:00:00.000Z');
    expect(result.json).toEqual({ ...created, ...patch, ...schedule });
  });

  it('switches a cron job to manual in one request, clearing its schedule', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: JSON.stringify({ trigger_type: 'manual' }),
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ trigger_type: 'manual', cron_schedule: null });
  });

  it('writes nothing for a patch that changes nothing', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    api.advance(5000);

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: JSON.stringify({ name: 'Nightly Backup', enabled: true }),
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toEqual(created);
    expect(api.store.replaceCalls).toBe(0);
  });

  it('answers 422 for an invalid patch and leaves the job as it was', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: JSON.stringify({ description: 'new', created_at: '2020-01-01T00:00:00.000Z' }),
    });
    const read = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });

    // Assess
    const error = expectError(result, 422, 'validation_failed');
    expect(error.details.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: 'created_at', code: 'unknown_field' },
    ]);
    expect(read.json).toEqual(created);
  });

  it('answers 404 for a job that does not exist', async () => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${UNKNOWN_JOB_ID}`,
      body: '{"enabled":false}',
    });

    // Assess
    expectError(result, 404, 'not_found');
    expect(api.store.size).toBe(0);
  });

  it('retries after a concurrent write and keeps both changes', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    let injected = false;
    api.store.beforeReplace = async () => {
      if (injected) return;
      injected = true;
      const current = await api.store.get(created.id);
      if (!current) throw new Error('the job should exist');
      const concurrent = { ...current.job, description: 'changed concurrently' };
      expect(await api.store.replace(concurrent, current.version, current.job)).not.toBeNull();
    };

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: JSON.stringify({ prompt_template: 'Perform an incremental backup' }),
    });
    const read = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      description: 'changed concurrently',
      prompt_template: 'Perform an incremental backup',
    });
    expect(read.json).toEqual(result.json);
    // Our write that lost the race, the injected write, and our retry that won.
    expect(api.store.replaceCalls).toBe(3);
    expect((await api.store.get(created.id))?.version).toBe(3);
  });

  it('answers 404 when the job is deleted between read and write, and does not resurrect it', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    api.store.beforeReplace = async (job) => {
      const current = await api.store.get(job.id);
      if (!current) throw new Error('the job should exist');
      expect(await api.store.delete(current.job, current.version)).toBe(true);
    };

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: '{"enabled":false}',
    });
    const read = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });
    const list = await api.authed({ method: 'GET', path: '/jobs' });

    // Assess
    expectError(result, 404, 'not_found');
    expectError(read, 404, 'not_found');
    expect(jobsOf(list)).toEqual([]);
    expect(api.store.size).toBe(0);
  });

  it("answers 409 when every attempt loses to a concurrent write, keeping the other writer's change", async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    let concurrentWrites = 0;
    api.store.beforeReplace = async (job) => {
      const current = await api.store.get(job.id);
      if (!current) throw new Error('the job should exist');
      concurrentWrites++;
      await api.store.replace(
        { ...current.job, description: `concurrent ${concurrentWrites}` },
        current.version,
        current.job,
      );
    };

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${created.id}`,
      body: '{"enabled":false}',
    });

    // Assess
    expectError(result, 409, 'conflict');
    const stored = await api.store.get(created.id);
    expect(stored?.job).toMatchObject({ enabled: true, description: `concurrent ${concurrentWrites}` });
    expect(concurrentWrites).toBe(5);
  });
});

describe('POST /jobs/{id}/enable and /disable', () => {
  it('disables and re-enables a job, as the list filters see it', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(WEEKLY_SECURITY_SCAN);
    api.advance(1000);

    // Act
    const disabled = await api.authed({ method: 'POST', path: `/jobs/${created.id}/disable` });
    const disabledList = await api.authed({ method: 'GET', path: '/jobs', query: { enabled: 'false' } });
    api.advance(1000);
    const enabled = await api.authed({ method: 'POST', path: `/jobs/${created.id}/enable` });
    const enabledList = await api.authed({ method: 'GET', path: '/jobs', query: { enabled: 'true' } });

    // Assess
    expect(disabled.status).toBe(200);
    // A disabled job has no next run; enabling brings back the same one.
    expect(disabled.json).toEqual({
      ...created,
      enabled: false,
      next_run_at: null,
      updated_at: '2025-01-15T09:00:01.000Z',
    });
    expect(jobsOf(disabledList).map((job) => job.id)).toEqual([created.id]);
    expect(enabled.status).toBe(200);
    expect(enabled.json).toEqual({ ...created, enabled: true, updated_at: '2025-01-15T09:00:02.000Z' });
    expect(jobsOf(enabledList).map((job) => job.id)).toEqual([created.id]);
  });

  it('answers 200 with the job unchanged when enabling an enabled job', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(WEEKLY_SECURITY_SCAN);
    api.advance(1000);

    // Act
    const result = await api.authed({ method: 'POST', path: `/jobs/${created.id}/enable` });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toEqual(created);
  });

  it.each(['enable', 'disable'])('answers 404 on /%s for an unknown job', async (action) => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({ method: 'POST', path: `/jobs/${UNKNOWN_JOB_ID}/${action}` });

    // Assess
    expectError(result, 404, 'not_found');
  });
});

describe('DELETE /jobs/{id}', () => {
  it('answers 204, after which GET and a second DELETE answer 404', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(DEPLOY_ON_PUSH);

    // Act
    const deleted = await api.authed({ method: 'DELETE', path: `/jobs/${created.id}` });
    const read = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });
    const deletedAgain = await api.authed({ method: 'DELETE', path: `/jobs/${created.id}` });
    const list = await api.authed({ method: 'GET', path: '/jobs' });

    // Assess
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expectError(read, 404, 'not_found');
    expectError(deletedAgain, 404, 'not_found');
    expect(jobsOf(list)).toEqual([]);
  });
});

describe('entities', () => {
  it('returns the signing secret of an http entity once, at creation, and stores it sealed', async () => {
    // Prepare
    const api = setup();
    const body = {
      id: 'deploy-bot',
      type: 'agent',
      name: 'Deploy bot',
      target: { type: 'http', url: 'https://agent.example.com/run' },
    };

    // Act
    const created = await api.authed({ method: 'POST', path: '/entities', body: JSON.stringify(body) });
    const read = await api.authed({ method: 'GET', path: '/entities/deploy-bot' });
    const list = await api.authed({ method: 'GET', path: '/entities', query: { limit: '100' } });

    // Assess
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/entities/deploy-bot');
    const entity = created.json as EntityWithSecret;
    expect(entity.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43,}={0,2}$/);
    expect(read.status).toBe(200);
    expect(read.json).not.toHaveProperty('signing_secret');
    expect(list.body).not.toContain(entity.signing_secret);
    const stored = await api.entities.get('deploy-bot');
    expect(stored?.sealedSecret).not.toBeNull();
    expect(stored?.sealedSecret).not.toContain(entity.signing_secret);
    expect(api.lines.join('\n')).not.toContain(entity.signing_secret);
  });

  it('answers 409 for an entity id that exists, and 409 when deleting an entity a job names', async () => {
    // Prepare
    const api = setup();
    await api.create(NIGHTLY_BACKUP);
    const duplicate = { id: 'agent-uuid', type: 'agent', name: 'again', target: { type: 'echo' } };

    // Act
    const created = await api.authed({ method: 'POST', path: '/entities', body: JSON.stringify(duplicate) });
    const deleteReferenced = await api.authed({ method: 'DELETE', path: '/entities/backup-agent-uuid' });
    const deleteFree = await api.authed({ method: 'DELETE', path: '/entities/agent-uuid' });
    const deleteMissing = await api.authed({ method: 'DELETE', path: '/entities/agent-uuid' });

    // Assess
    expectError(created, 409, 'conflict');
    expectError(deleteReferenced, 409, 'conflict');
    expect(deleteFree.status).toBe(204);
    expectError(deleteMissing, 404, 'not_found');
  });

  it('answers 422 on entity_id for a job naming an entity that does not exist or has another type', async () => {
    // Prepare
    const api = setup();
    const missing = { ...NIGHTLY_BACKUP, entity_id: 'no-such-agent' };
    const wrongType = { ...NIGHTLY_BACKUP, entity_id: 'deployment-team-uuid' };

    // Act
    const results = [
      await api.authed({ method: 'POST', path: '/jobs', body: JSON.stringify(missing) }),
      await api.authed({ method: 'POST', path: '/jobs', body: JSON.stringify(wrongType) }),
    ];

    // Assess
    for (const result of results) {
      const error = expectError(result, 422, 'validation_failed');
      expect(error.details.map((detail) => detail.path)).toEqual(['entity_id']);
    }
    expect(api.store.size).toBe(0);
  });

  it('answers 422 saying there is no default entity for a job without one', async () => {
    // Prepare
    const api = setup({ entities: [] });

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body: JSON.stringify(MANUAL) });

    // Assess
    const error = expectError(result, 422, 'validation_failed');
    expect(error.details).toEqual([
      expect.objectContaining({ path: 'entity_id', code: 'no_default_entity' }),
    ]);
    expect(error.details[0]?.message).toContain('default entity');
  });
});

describe('runs', () => {
  it('triggers a job: 202 with the reference’s shape, then history and the execution show it', async () => {
    // Prepare
    const api = setup();
    const job = await api.create(EMERGENCY_ROLLBACK);

    // Act
    const triggered = await api.authed({
      method: 'POST',
      path: `/jobs/${job.id}/trigger`,
      body: JSON.stringify({ parameters: { service_name: 'billing', version: 'v1.2.3' } }),
    });
    const { execution_id: executionId } = triggered.json as TriggerResponse;
    const history = await api.authed({
      method: 'GET',
      path: `/jobs/${job.id}/executions`,
      query: { limit: '10' },
    });
    const one = await api.authed({ method: 'GET', path: `/jobs/${job.id}/executions/${executionId}` });

    // Assess
    expect(triggered.status).toBe(202);
    expect(triggered.json).toEqual({
      workflow_id: expect.stringMatching(/^wf_/),
      execution_id: expect.stringMatching(/^exec_/),
      status: 'queued',
    });
    expect(history.status).toBe(200);
    const page = history.json as ExecutionListResponse;
    expect(page.total_count).toBe(1);
    expect(page.next_cursor).toBeNull();
    expect(page.executions.map((execution) => execution.execution_id)).toEqual([executionId]);
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({
      execution_id: executionId,
      job_id: job.id,
      status: 'queued',
      trigger_type: 'manual',
      prompt: 'Rollback service billing to version v1.2.3 ',
      entity_id: 'echo-default',
    });
    expect(api.queue.sent.map((sent) => sent.message.execution_id)).toEqual([executionId]);
  });

  it('triggers with an empty body, as the reference’s trigger(job_id) sends it', async () => {
    // Prepare
    const api = setup();
    const job = await api.create(MANUAL);

    // Act
    const result = await api.authed({ method: 'POST', path: `/jobs/${job.id}/trigger` });

    // Assess
    expect(result.status).toBe(202);
  });

  it('answers 422 listing every missing template parameter, and 409 for a disabled job', async () => {
    // Prepare
    const api = setup();
    const job = await api.create(EMERGENCY_ROLLBACK);
    const disabled = await api.create({ ...MANUAL, enabled: false });

    // Act
    const missing = await api.authed({ method: 'POST', path: `/jobs/${job.id}/trigger`, body: '{}' });
    const off = await api.authed({ method: 'POST', path: `/jobs/${disabled.id}/trigger`, body: '{}' });

    // Assess
    const error = expectError(missing, 422, 'validation_failed');
    expect(error.details.map((detail) => detail.path)).toEqual([
      'parameters.service_name',
      'parameters.version',
    ]);
    expectError(off, 409, 'conflict');
    expect(api.queue.sent).toEqual([]);
  });

  it('cancels a queued run, and answers 409 to cancel it again', async () => {
    // Prepare
    const api = setup();
    const job = await api.create(MANUAL);
    const triggered = await api.authed({ method: 'POST', path: `/jobs/${job.id}/trigger` });
    const { execution_id: executionId } = triggered.json as TriggerResponse;
    const path = `/jobs/${job.id}/executions/${executionId}/cancel`;

    // Act
    const cancelled = await api.authed({ method: 'POST', path });
    const again = await api.authed({ method: 'POST', path });

    // Assess
    expect(cancelled.status).toBe(200);
    expect((cancelled.json as Execution).status).toBe('cancelled');
    expectError(again, 409, 'conflict');
  });

  it('answers 401 to a callback without the run’s token, and needs no API key for it', async () => {
    // Prepare
    const api = setup();
    const job = await api.create(MANUAL);
    const triggered = await api.authed({ method: 'POST', path: `/jobs/${job.id}/trigger` });
    const { execution_id: executionId } = triggered.json as TriggerResponse;
    const path = `/executions/${executionId}/callback`;
    const body = JSON.stringify({ status: 'succeeded' });

    // Act
    const withApiKey = await api.authed({ method: 'POST', path, body });
    const withoutToken = await api.call({ method: 'POST', path, body });
    const wrongToken = await api.call({
      method: 'POST',
      path,
      body,
      headers: { authorization: `Bearer ${job.id}.nope` },
    });

    // Assess
    expectError(withApiKey, 401, 'unauthorized');
    expectError(withoutToken, 401, 'unauthorized');
    expectError(wrongToken, 401, 'unauthorized');
    expect((await api.executions.get(job.id, executionId))?.execution.status).toBe('queued');
  });

  it('guards the run routes with the API key', async () => {
    // Prepare
    const api = setup();
    const job = await api.create(MANUAL);
    const executionId = 'exec_000000000000000000000000000001';

    // Act
    const results = await Promise.all(
      [
        { method: 'POST', path: `/jobs/${job.id}/trigger` },
        { method: 'GET', path: `/jobs/${job.id}/executions` },
        { method: 'GET', path: `/jobs/${job.id}/executions/${executionId}` },
        { method: 'POST', path: `/jobs/${job.id}/executions/${executionId}/cancel` },
        { method: 'GET', path: '/entities' },
        { method: 'POST', path: '/entities', body: '{}' },
        { method: 'GET', path: '/entities/echo-default' },
        { method: 'PATCH', path: '/entities/echo-default', body: '{}' },
        { method: 'DELETE', path: '/entities/echo-default' },
      ].map((input) => api.call(input)),
    );

    // Assess
    for (const result of results) expectError(result, 401, 'unauthorized');
    expect(api.queue.sent).toEqual([]);
    expect(await api.entities.get('echo-default')).not.toBeNull();
  });
});

describe('authentication', () => {
  it.each<[string, Record<string, string>]>([
    ['no Authorization header', {}],
    ['a wrong key', { authorization: 'Bearer wrong-key' }],
    ['a key that extends the right one', { authorization: `Bearer ${API_KEY}x` }],
    ['a prefix of the right key', { authorization: `Bearer ${API_KEY.slice(0, -1)}` }],
    ['the Basic scheme', { authorization: `Basic ${Buffer.from(`${API_KEY}:`).toString('base64')}` }],
    ['the right key under the Basic scheme', { authorization: `Basic ${API_KEY}` }],
    ['the key with no scheme', { authorization: API_KEY }],
    ['the scheme with no key', { authorization: 'Bearer' }],
    ['the scheme and a blank key', { authorization: 'Bearer  ' }],
    ['two tokens', { authorization: `Bearer ${API_KEY} ${API_KEY}` }],
    ['the key in another header', { 'x-api-key': API_KEY }],
  ])('answers 401 with www-authenticate: Bearer for %s', async (_label, headers) => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.call({ method: 'GET', path: '/jobs', headers });

    // Assess
    const error = expectError(result, 401, 'unauthorized');
    expect(result.headers['www-authenticate']).toBe('Bearer');
    expect(error.details).toEqual([]);
  });

  it('guards every job route, and changes nothing for an unauthenticated caller', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    const requests: ApiEventInput[] = [
      { method: 'GET', path: '/jobs' },
      { method: 'POST', path: '/jobs', body: JSON.stringify(MANUAL) },
      ...jobRoutes(created.id),
    ];

    // Act
    const results = await Promise.all(requests.map((input) => api.call(input)));
    const read = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });

    // Assess
    for (const result of results) {
      expectError(result, 401, 'unauthorized');
      expect(result.headers['www-authenticate']).toBe('Bearer');
    }
    expect(read.json).toEqual(created);
    expect(api.store.size).toBe(1);
  });

  it('checks the key before reading the body', async () => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.call({ method: 'POST', path: '/jobs', body: '{"name":' });

    // Assess
    expectError(result, 401, 'unauthorized');
  });

  it.each(['bearer', 'BEARER'])('accepts the scheme spelled "%s"', async (scheme) => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.call({
      method: 'GET',
      path: '/jobs',
      headers: { Authorization: `${scheme} ${API_KEY}` },
    });

    // Assess
    expect(result.status).toBe(200);
  });

  it('serves /health without a key', async () => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.call({ method: 'GET', path: '/health' });

    // Assess
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ status: 'ok' });
  });
});

describe('routing', () => {
  it.each(['/', '/nope', '/job', '/jobs/a/b', `/jobs/${UNKNOWN_JOB_ID}/trigger/now`, '/health/x'])(
    'answers 404 for the unknown route GET %s',
    async (path) => {
      // Prepare
      const api = setup();

      // Act
      const result = await api.authed({ method: 'GET', path });

      // Assess
      const error = expectError(result, 404, 'not_found');
      expect(error.details).toEqual([]);
    },
  );

  it.each<[string, string, string[]]>([
    ['PUT', `/jobs/${UNKNOWN_JOB_ID}`, ['DELETE', 'GET', 'HEAD', 'PATCH']],
    ['POST', `/jobs/${UNKNOWN_JOB_ID}`, ['DELETE', 'GET', 'HEAD', 'PATCH']],
    ['DELETE', '/jobs', ['GET', 'HEAD', 'POST']],
    ['PATCH', '/jobs', ['GET', 'HEAD', 'POST']],
    ['GET', `/jobs/${UNKNOWN_JOB_ID}/enable`, ['POST']],
    ['POST', '/health', ['GET', 'HEAD']],
  ])('answers 405 for %s %s with an allow header', async (method, path, allowed) => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({ method, path });

    // Assess
    expectError(result, 405, 'method_not_allowed');
    expect(result.headers.allow?.split(', ').sort()).toEqual(allowed);
  });

  it('takes the method in any case and a trailing slash', async () => {
    // Prepare
    const api = setup();
    await api.create(MANUAL);

    // Act
    const result = await api.authed({ method: 'get', path: '/jobs/' });

    // Assess
    expect(result.status).toBe(200);
    expect(jobsOf(result)).toHaveLength(1);
  });
});

describe('request bodies', () => {
  it.each(['{"name":', '{name: "x"}', "{'name': 'x'}", '{"a":1}}', 'NaN', 'undefined', '{"a":1,}', '\u0000'])(
    'answers 400 malformed_json for %j',
    async (body) => {
      // Prepare
      const api = setup();

      // Act
      const result = await api.authed({ method: 'POST', path: '/jobs', body });

      // Assess
      expectError(result, 400, 'malformed_json');
      expect(api.store.size).toBe(0);
    },
  );

  it.each(['[]', `[${JSON.stringify(MANUAL)}]`, '42', 'null', '"job"', 'true'])(
    'answers 400 invalid_body for the JSON %s, which is not an object',
    async (body) => {
      // Prepare
      const api = setup();

      // Act
      const result = await api.authed({ method: 'POST', path: '/jobs', body });

      // Assess
      expectError(result, 400, 'invalid_body');
      expect(api.store.size).toBe(0);
    },
  );

  it.each<[string, ApiEventInput]>([
    ['POST /jobs with an empty body', { method: 'POST', path: '/jobs', body: '' }],
    ['POST /jobs with no body', { method: 'POST', path: '/jobs' }],
    ['PATCH with an empty body', { method: 'PATCH', path: `/jobs/${UNKNOWN_JOB_ID}`, body: '' }],
  ])('answers 400 invalid_body for %s', async (_label, input) => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed(input);

    // Assess
    expectError(result, 400, 'invalid_body');
  });

  it('answers 400 for a PATCH body that is malformed, before looking the job up', async () => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed({
      method: 'PATCH',
      path: `/jobs/${UNKNOWN_JOB_ID}`,
      body: '{"enabled":',
    });

    // Assess
    expectError(result, 400, 'malformed_json');
  });

  it('accepts a body of exactly 256 KiB and answers 413 one byte over', async () => {
    // Prepare
    const api = setup();
    const padded = (bytes: number) => {
      const prefix = JSON.stringify({ ...MANUAL, padding: '' }).slice(0, -2);
      return `${prefix}${'x'.repeat(bytes - prefix.length - 2)}"}`;
    };

    // Act
    const atLimit = await api.authed({ method: 'POST', path: '/jobs', body: padded(MAX_BODY_BYTES) });
    const overLimit = await api.authed({ method: 'POST', path: '/jobs', body: padded(MAX_BODY_BYTES + 1) });

    // Assess
    // At the limit the body is read: its only problem is the unknown field.
    const error = expectError(atLimit, 422, 'validation_failed');
    expect(error.details.map((detail) => detail.path)).toEqual(['padding']);
    expectError(overLimit, 413, 'payload_too_large');
  });

  it('counts the limit in bytes, not characters', async () => {
    // Prepare
    const api = setup();
    // 100,000 characters, 300,000 UTF-8 bytes.
    const body = JSON.stringify({ ...MANUAL, description: '€'.repeat(100_000) });

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body });

    // Assess
    expectError(result, 413, 'payload_too_large');
  });

  it('answers 413 on every route that takes a body, the bodyless actions included', async () => {
    // Prepare
    const api = setup();
    const created = await api.create(NIGHTLY_BACKUP);
    const body = JSON.stringify({ description: 'd'.repeat(MAX_BODY_BYTES) });

    // Act
    const results = await Promise.all(
      [
        { method: 'POST', path: '/jobs' },
        { method: 'PATCH', path: `/jobs/${created.id}` },
        { method: 'POST', path: `/jobs/${created.id}/enable` },
        { method: 'POST', path: `/jobs/${created.id}/disable` },
      ].map((input) => api.authed({ ...input, body })),
    );
    const read = await api.authed({ method: 'GET', path: `/jobs/${created.id}` });

    // Assess
    for (const result of results) expectError(result, 413, 'payload_too_large');
    expect(read.json).toEqual(created);
  });

  it('answers 413 for a base64-encoded body over the limit once decoded', async () => {
    // Prepare
    const api = setup();
    const body = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body });

    // Assess
    expectError(result, 413, 'payload_too_large');
  });

  it.each<[string, ApiEventInput]>([
    ['from binary', { method: 'POST', path: '/jobs', body: Buffer.from(JSON.stringify(EMERGENCY_ROLLBACK)) }],
    [
      'from a base64 string',
      {
        method: 'POST',
        path: '/jobs',
        body: Buffer.from(JSON.stringify(EMERGENCY_ROLLBACK)).toString('base64'),
        isBase64Encoded: true,
      },
    ],
  ])('decodes a base64-encoded body (%s)', async (_label, input) => {
    // Prepare
    const api = setup();

    // Act
    const result = await api.authed(input);

    // Assess
    expect(result.status).toBe(201);
    expect(result.json).toMatchObject(EMERGENCY_ROLLBACK);
  });

  it('keeps non-ASCII text intact through base64', async () => {
    // Prepare
    const api = setup();
    const body = {
      ...MANUAL,
      name: 'Sauvegarde nocturne ☾',
      prompt_template: 'Résumé: {{ région }} 日本語 🚀',
    };

    // Act
    const result = await api.authed({
      method: 'POST',
      path: '/jobs',
      body: Buffer.from(JSON.stringify(body), 'utf8'),
    });

    // Assess
    expect(result.status).toBe(201);
    expect(result.json).toMatchObject(body);
  });

  it.each<[string, number[]]>([
    ['a stray 0xFF byte', [0xff]],
    ['a truncated 2-byte sequence', [0xc3]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('answers 400 malformed_json for invalid UTF-8: %s inside a string', async (_label, bytes) => {
    // Prepare
    const api = setup();
    const json = JSON.stringify(MANUAL);
    const at = json.indexOf('Manual job') + 1;
    const body = Buffer.concat([
      Buffer.from(json.slice(0, at)),
      Buffer.from(bytes),
      Buffer.from(json.slice(at)),
    ]);

    // Act
    const result = await api.authed({ method: 'POST', path: '/jobs', body });

    // Assess
    expectError(result, 400, 'malformed_json');
    expect(api.store.size).toBe(0);
  });
});

describe('failures', () => {
  const SECRET_DETAIL = 'connect ECONNREFUSED 10.0.7.12:8000 (user=svc-jobs password=hunter2)';

  class FailingStore extends MemoryJobStore {
    override async get(): Promise<never> {
      throw new Error(SECRET_DETAIL);
    }
    override async list(): Promise<never> {
      throw new Error(SECRET_DETAIL);
    }
    override async create(): Promise<never> {
      throw new Error(SECRET_DETAIL);
    }
  }

  it.each<[string, ApiEventInput]>([
    ['GET /jobs', { method: 'GET', path: '/jobs' }],
    ['GET /jobs/{id}', { method: 'GET', path: `/jobs/${UNKNOWN_JOB_ID}` }],
    ['POST /jobs', { method: 'POST', path: '/jobs', body: JSON.stringify(MANUAL) }],
    ['PATCH /jobs/{id}', { method: 'PATCH', path: `/jobs/${UNKNOWN_JOB_ID}`, body: '{"enabled":false}' }],
    ['POST /jobs/{id}/disable', { method: 'POST', path: `/jobs/${UNKNOWN_JOB_ID}/disable` }],
  ])('answers an opaque 500 when the store fails on %s, and logs the error', async (_label, input) => {
    // Prepare
    const api = setup({ store: new FailingStore() });

    // Act
    const result = await api.authed(input);

    // Assess
    expect(result.json).toEqual({
      error: { code: 'internal_error', message: 'Internal server error.', details: [] },
    });
    expectError(result, 500, 'internal_error');
    expect(result.body).not.toContain('ECONNREFUSED');
    expect(result.body).not.toContain('hunter2');
    const failures = api.logEntries().filter((entry) => entry.level === 'error');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      message: 'request failed',
      error: { name: 'Error', message: SECRET_DETAIL },
      requestId: expect.any(String),
    });
  });

  it('logs one access line per request with method, path, status and request id', async () => {
    // Prepare
    const api = setup();

    // Act
    await api.authed({ method: 'GET', path: '/jobs' });
    await api.call({ method: 'GET', path: '/jobs' });
    await api.authed({ method: 'POST', path: '/jobs', body: '[]' });

    // Assess
    const accessLines = api.logEntries().filter((entry) => entry.message === 'request');
    expect(accessLines.map(({ method, path, statusCode }) => ({ method, path, statusCode }))).toEqual([
      { method: 'GET', path: '/jobs', statusCode: 200 },
      { method: 'GET', path: '/jobs', statusCode: 401 },
      { method: 'POST', path: '/jobs', statusCode: 400 },
    ]);
    for (const line of accessLines) expect(line.requestId).toEqual(expect.any(String));
  });

  it('never writes an API key to the log, right or wrong, whatever the outcome', async () => {
    // Prepare
    const api = setup();
    const failing = setup({ store: new FailingStore() });
    const wrongKey = 'wrong-key-7f3a9c';

    // Act
    const created = await api.create(NIGHTLY_BACKUP);
    await api.authed({ method: 'GET', path: '/jobs' });
    await api.authed({ method: 'GET', path: `/jobs/${created.id}` });
    await api.authed({ method: 'PATCH', path: `/jobs/${created.id}`, body: '{"description":"x"}' });
    await api.authed({ method: 'PATCH', path: `/jobs/${created.id}`, body: '{"cron_schedule":"bad"}' });
    await api.authed({ method: 'POST', path: `/jobs/${created.id}/disable` });
    await api.authed({ method: 'POST', path: '/jobs', body: '{"name":' });
    await api.authed({ method: 'PUT', path: '/jobs' });
    await api.call({ method: 'GET', path: '/jobs', headers: { authorization: `Bearer ${wrongKey}` } });
    await api.call({ method: 'GET', path: '/jobs', headers: { authorization: `Basic ${API_KEY}` } });
    await api.authed({ method: 'DELETE', path: `/jobs/${created.id}` });
    await failing.authed({ method: 'GET', path: '/jobs' });

    // Assess
    const lines = [...api.lines, ...failing.lines];
    expect(lines.length).toBeGreaterThan(12);
    for (const line of lines) {
      expect(line).not.toContain(API_KEY);
      expect(line).not.toContain(wrongKey);
      expect(line.toLowerCase()).not.toContain('authorization');
    }
  });
});

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('malformed requests', () => {
  it('never answers 5xx to 200 generated malformed requests (seed 20250115)', async () => {
    // Prepare
    const api = setup();
    const existing = [await api.create(NIGHTLY_BACKUP), await api.create(DEPLOY_ON_PUSH)];
    const random = seededRandom(20250115);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const int = (max: number) => Math.floor(random() * max);
    const junkValues: unknown[] = [
      null,
      true,
      0,
      -1,
      1e308,
      -0.5,
      '',
      ' ',
      'x'.repeat(70_000),
      '€'.repeat(40_000),
      '\u0000',
      '\ud800',
      '0 9 * * *',
      '*/0 * * * *',
      'Mars/Olympus',
      [],
      [1, 'a', null],
      {},
      { nested: { deeper: [1, 2, { x: null }] } },
      JSON.parse('{"__proto__":{"polluted":true}}'),
      JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
    ];
    const fields = [
      'name',
      'description',
      'trigger_type',
      'cron_schedule',
      'cron_timezone',
      'planning_mode',
      'entity_type',
      'entity_id',
      'prompt_template',
      'system_prompt',
      'executor_type',
      'worker_queue_name',
      'environment_name',
      'config',
      'execution_environment',
      'enabled',
      'id',
      'created_at',
      '__proto__',
      'constructor',
      '',
    ];
    const validBodies: Record<string, unknown>[] = [
      NIGHTLY_BACKUP,
      DEPLOY_ON_PUSH,
      EMERGENCY_ROLLBACK,
      DAILY_HEALTH_CHECK,
      WEEKLY_SECURITY_SCAN,
      MANUAL,
    ];
    const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const bodies: (() => string | Buffer | undefined)[] = [
      () => undefined,
      () => '',
      () => Buffer.from(Array.from({ length: int(2048) }, () => int(256))),
      () => deepArray(1 + int(100_000)),
      () => deepObject(1 + int(40_000)),
      () =>
        `{"config":${deepObject(1 + int(40_000))},"name":"n","trigger_type":"manual","prompt_template":"p"}`,
      () => `{"name":${deepArray(1 + int(10_000))}}`,
      () => JSON.stringify({ ...pick(validBodies), [pick(fields)]: pick(junkValues) }),
      () =>
        JSON.stringify({
          ...pick(validBodies),
          [pick(fields)]: pick(junkValues),
          [pick(fields)]: pick(junkValues),
        }),
      () => JSON.stringify(Object.fromEntries(fields.map((field) => [field, pick(junkValues)]))),
      () => JSON.stringify(pick(junkValues)),
      () => JSON.stringify({ [pick(fields)]: pick(junkValues) }),
      () => JSON.stringify({ [pick(fields)]: pick(junkValues), [pick(fields)]: pick(junkValues) }),
      () =>
        JSON.stringify({
          name: 'n',
          trigger_type: 'manual',
          prompt_template: 'p',
          config: { x: 'y'.repeat(250_000) },
        }),
      () =>
        JSON.stringify({
          ...MANUAL,
          prompt_template: '€'.repeat(64 * 1024),
          system_prompt: '€'.repeat(20_000),
        }),
      () => JSON.stringify(pick(validBodies)).slice(0, int(200)),
      () => `{"name":"\\ud800","trigger_type":"manual","prompt_template":"\\udfff"}`,
      () => '{"a":1e999999}',
      () => `{${Array.from({ length: 5000 }, (_, index) => `"k${index}":${index}`).join(',')}}`,
    ];
    // Existing ids come up most often, so PATCH and the actions get past the lookup to the body.
    const ids = [
      ...existing.map((job) => job.id),
      ...existing.map((job) => job.id),
      UNKNOWN_JOB_ID,
      'x',
      '%',
      '%E0%A4%A',
      '..',
      'job_'.repeat(5000),
    ];
    // Mostly a real route with its own method, so bodies and queries reach the parsing and validation.
    const targets: (() => [string, string])[] = [
      () => ['POST', '/jobs'],
      () => ['POST', '/jobs'],
      () => ['POST', '/jobs'],
      () => ['PATCH', `/jobs/${pick(ids)}`],
      () => ['PATCH', `/jobs/${pick(ids)}`],
      () => ['PATCH', `/jobs/${pick(ids)}`],
      () => ['GET', '/jobs'],
      () => ['GET', `/jobs/${pick(ids)}`],
      () => ['POST', `/jobs/${pick(ids)}/${pick(['enable', 'disable'])}`],
      () => [
        pick(['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'get', 'BREW', '']),
        pick([
          '',
          '/',
          '/health',
          '//jobs',
          '/jobs//',
          '/JOBS',
          '/jobs/%00',
          `/jobs/${pick(ids)}/${pick(['enable', 'trigger', 'executions', ''])}`,
          `/${'a/'.repeat(2000)}`,
          '/jobs?x=1',
        ]),
      ],
    ];
    const queries: (() => Record<string, string> | undefined)[] = [
      () => undefined,
      () => undefined,
      () => ({ limit: pick(['0', '-1', '1e2', '9'.repeat(400), '', '50', ' 5']) }),
      () => ({
        cursor: Buffer.from(Array.from({ length: int(300) }, () => int(256))).toString(
          pick(['base64', 'base64url', 'hex']),
        ),
      }),
      () => ({ cursor: Buffer.from(JSON.stringify({ after: pick(junkValues) })).toString('base64url') }),
      () => ({ enabled: pick(['true', 'TRUE', '', '1']), trigger_type: pick(['cron', 'CRON', '']) }),
      () =>
        JSON.parse('{"__proto__":"x","constructor":"y","toString":"z","hasOwnProperty":"w"}') as Record<
          string,
          string
        >,
    ];
    const authHeaders = [
      AUTH,
      AUTH,
      AUTH,
      AUTH,
      AUTH,
      AUTH,
      {},
      { authorization: 'Bearer x'.repeat(1000) },
      { authorization: '\u0000' },
    ];

    // Act
    const outcomes: { index: number; method: string; path: string; status: number }[] = [];
    for (let index = 0; index < 200; index++) {
      const [method, path] = pick(targets)();
      const body = pick(bodies)();
      const query = pick(queries)();
      const result = await api.call({
        method,
        path,
        headers: { ...pick(authHeaders), 'content-type': 'application/json' },
        ...(body !== undefined && { body }),
        ...(query !== undefined && { query }),
      });
      outcomes.push({ index, method, path: path.slice(0, 80), status: result.status });
      // HEAD answers carry no body (test/unit/api-input.test.ts checks them against GET).
      if (result.status >= 400 && method !== 'HEAD')
        expectError(result, result.status, (result.json as { error: ErrorBody }).error.code);
    }

    // Assess
    expect(outcomes.filter((outcome) => outcome.status >= 500)).toEqual([]);
    expect(api.logEntries().filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
