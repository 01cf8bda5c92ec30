import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { hashToken, newCallbackToken } from '../../shared/app/run-helpers.js';
import { QUEUED_GRACE_SECONDS } from '../../shared/app/run-service.js';
import {
  ConflictError,
  type JobsServiceError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../shared/domain/errors.js';
import { type Execution, MAX_OUTPUT_BYTES } from '../../shared/domain/execution.js';
import type { Job, JobCreateInput } from '../../shared/domain/job.js';
import { parseOrThrow } from '../../shared/domain/validation.js';
import { httpStatusOf } from '../../shared/http/errors-to-http.js';
import { parseQuery } from '../../shared/http/query.js';
import { API_ROUTES } from '../../shared/http/routes/index.js';
import type { DeploymentConfig } from '../../shared/ports.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  makeEntity,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { services } from '../support/services.js';

const START = Date.parse('2025-06-01T10:00:00.000Z');
const iso = (millis: number) => new Date(millis).toISOString();

/** RunService over in-memory stores with a default echo entity, a manual clock and captured logs. */
async function setup(options: { deployment?: DeploymentConfig } = {}) {
  const clock = new ManualClock(START);
  const ids = sequentialIds(clock);
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  await entities.create(makeEntity({ id: 'release-agent', type: 'agent' }), null);
  const jobStore = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const queue = new RecordingQueue();
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  const deployment = options.deployment ?? openDeployment();
  const metrics = new RecordingMetrics();
  const { jobs, runs } = services({
    jobStore,
    entities,
    executions,
    queue,
    deployment,
    clock,
    ids,
    logger,
    metrics,
  });
  const createJob = (body: Partial<JobCreateInput> = {}) =>
    jobs.create({ name: 'job', trigger_type: 'manual', prompt_template: 'Do it', ...body });
  const stored = async (job: Job, executionId: string) => {
    const found = await executions.get(job.id, executionId);
    if (!found) throw new Error(`execution ${executionId} should exist`);
    return found;
  };
  /** Takes a queued run to running as a worker's claim does, with a callback token; returns the token. */
  const claim = async (execution: Pick<Execution, 'job_id' | 'execution_id'>) => {
    const token = newCallbackToken(execution.job_id);
    const now = clock.now();
    const running = await executions.claim(execution.job_id, execution.execution_id, {
      attempt: 1,
      now,
      leaseUntil: iso(now.getTime() + 60_000),
      callbackTokenHash: hashToken(token),
    });
    if (!running.ok) throw new Error('the claim should succeed');
    return token;
  };
  return {
    clock,
    entities,
    jobStore,
    executions,
    queue,
    metrics,
    jobs,
    runs,
    createJob,
    stored,
    claim,
    /** The history as GET /jobs/{id}/executions asks for it: the query read by the route first. */
    listExecutions: async (jobId: string, query: Record<string, string>) =>
      runs.listExecutions(jobId, parseQuery(API_ROUTES.getExecutions.query, query)),
    /** A callback as the route makes it: the body read by its schema once the token holds. */
    callback: (executionId: string, token: string | null, body: unknown) =>
      runs.callback(executionId, token, () =>
        parseOrThrow(API_ROUTES.reportExecutionResult.body.schema, body),
      ),
    logEntries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** The service error a call rejects with (or a failed assertion if it resolves). */
async function rejection(call: Promise<unknown>): Promise<JobsServiceError> {
  const error = await call.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as JobsServiceError;
}

describe('RunService.trigger', () => {
  it('renders the template (dotted paths too), records the run as queued and sends it to the default queue', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({
      prompt_template: 'Deploy {{ repo.branch }} of {{repo.name}} to {{ environment }}',
      system_prompt: 'Be careful',
      config: { retry: { max_attempts: 3 }, model: 'passed-through' },
    });
    const parameters = { repo: { name: 'api', branch: 'main' }, environment: 'production' };

    // Act
    const response = await run.runs.trigger(job.id, { parameters });

    // Assess
    const executionId = response.execution_id;
    expect(response).toEqual({
      workflow_id: `wf_${executionId.slice('exec_'.length)}`,
      execution_id: executionId,
      status: 'queued',
    });
    const { execution } = await run.stored(job, executionId);
    expect(execution).toEqual({
      execution_id: executionId,
      workflow_id: response.workflow_id,
      job_id: job.id,
      job_name: 'job',
      status: 'queued',
      trigger_type: 'manual',
      parameters,
      prompt: 'Deploy main of api to production',
      system_prompt: 'Be careful',
      config: { retry: { max_attempts: 3 }, model: 'passed-through' },
      entity_id: 'echo',
      entity_type: 'agent',
      queue: 'default',
      environment_name: null,
      metadata: {},
      dedupe_key: null,
      scheduled_at: null,
      lateness_ms: null,
      attempt: 1,
      max_attempts: 3,
      created_at: iso(START),
      started_at: null,
      finished_at: null,
      duration_ms: null,
      deadline_at: null,
      error_message: null,
      output: null,
      output_truncated: false,
    });
    expect(run.queue.sent).toEqual([
      {
        queue: 'default',
        message: { job_id: job.id, execution_id: executionId, attempt: 1 },
        delaySeconds: undefined,
      },
    ]);
  });

  it('answers 422 listing every missing parameter, and records and sends nothing', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({
      prompt_template: 'Rollback service {{ service_name }} to version {{ version }} in {{ region.name }}',
    });

    // Act
    const error = await rejection(run.runs.trigger(job.id, { parameters: { version: null, region: {} } }));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(httpStatusOf(error)).toBe(422);
    expect(error.details.map((detail) => detail.path)).toEqual([
      'parameters.service_name',
      'parameters.version',
      'parameters.region.name',
    ]);
    expect((await run.executions.list(job.id, { limit: 10, offset: 0 })).totalCount).toBe(0);
    expect(run.queue.sent).toEqual([]);
  });

  it('answers 409 for a disabled job and records nothing', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({ enabled: false });

    // Act
    const error = await rejection(run.runs.trigger(job.id, {}));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(httpStatusOf(error)).toBe(409);
    expect((await run.executions.list(job.id, { limit: 10, offset: 0 })).totalCount).toBe(0);
    expect(run.queue.sent).toEqual([]);
  });

  it('answers 404 for a job that does not exist', async () => {
    // Prepare
    const run = await setup();

    // Act
    const error = await rejection(run.runs.trigger('job_550e8400-e29b-41d4-a716-446655440000', {}));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
  });

  it('answers 422 for an invalid config_override, naming config_override.timeout', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();

    // Act
    const error = await rejection(
      run.runs.trigger(job.id, { config_override: { timeout: 0, retry: { max_attempts: 99 } } }),
    );

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.details.map((detail) => detail.path)).toEqual([
      'config_override.timeout',
      'config_override.retry.max_attempts',
    ]);
    expect(run.queue.sent).toEqual([]);
  });

  it('lays config_override over the job’s config for this run only', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({
      config: { timeout: 60, retry: { max_attempts: 2, backoff_seconds: 5 } },
    });

    // Act
    const response = await run.runs.trigger(job.id, {
      config_override: { timeout: 300, retry: { max_attempts: 4 }, temperature: 0 },
    });
    const plain = await run.runs.trigger(job.id, {});

    // Assess
    const overridden = (await run.stored(job, response.execution_id)).execution;
    expect(overridden.config).toEqual({
      timeout: 300,
      retry: { max_attempts: 4, backoff_seconds: 5 },
      temperature: 0,
    });
    expect(overridden.max_attempts).toBe(4);
    expect((await run.stored(job, plain.execution_id)).execution.config).toEqual(job.config);
    expect((await run.jobs.get(job.id)).config).toEqual({
      timeout: 60,
      retry: { max_attempts: 2, backoff_seconds: 5 },
    });
  });

  it('takes a job’s named entity over the default', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({
      planning_mode: 'predefined_agent',
      entity_type: 'agent',
      entity_id: 'release-agent',
    });

    // Act
    const response = await run.runs.trigger(job.id, {});

    // Assess
    expect((await run.stored(job, response.execution_id)).execution).toMatchObject({
      entity_id: 'release-agent',
      entity_type: 'agent',
    });
  });

  it.each<[string, Partial<JobCreateInput>, string, string | null]>([
    ['auto to the default queue', { executor_type: 'auto' }, 'main-workers', null],
    [
      'specific_queue to the named queue',
      { executor_type: 'specific_queue', worker_queue_name: 'gpu' },
      'gpu',
      null,
    ],
    [
      'environment to its declared queue',
      { executor_type: 'environment', environment_name: 'staging' },
      'staging-workers',
      'staging',
    ],
  ])('routes %s', async (_label, routing, queue, environmentName) => {
    // Prepare
    const deployment = openDeployment({
      defaultQueue: 'main-workers',
      queues: ['gpu'],
      environments: { staging: { queue: 'staging-workers', variables: { REGION: 'eu-west-1' } } },
      open: false,
    });
    const run = await setup({ deployment });
    const job = await run.createJob(routing);

    // Act
    const response = await run.runs.trigger(job.id, {});

    // Assess
    expect((await run.stored(job, response.execution_id)).execution).toMatchObject({
      queue,
      environment_name: environmentName,
    });
    expect(run.queue.sent.map((sent) => sent.queue)).toEqual([queue]);
  });

  it('runs an undeclared environment of an open deployment on a queue of its name', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({ executor_type: 'environment', environment_name: 'adhoc' });

    // Act
    const response = await run.runs.trigger(job.id, {});

    // Assess
    expect((await run.stored(job, response.execution_id)).execution).toMatchObject({
      queue: 'adhoc',
      environment_name: 'adhoc',
    });
  });

  it('answers 409 when a closed deployment no longer has the job’s environment', async () => {
    // Prepare
    const run = await setup({ deployment: openDeployment({ open: false }) });
    const created = await run.createJob();
    // Written past JobService, as a job created before the environment left the deployment config.
    const job: Job = { ...created, executor_type: 'environment', environment_name: 'retired' };
    await run.jobStore.replace(job, 1, created);

    // Act
    const error = await rejection(run.runs.trigger(job.id, {}));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(run.queue.sent).toEqual([]);
  });

  it('still answers queued when sending fails, logs it, and the sweeper sends it later', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();
    run.queue.failure = new Error('SQS is down');

    // Act
    const response = await run.runs.trigger(job.id, {});
    run.queue.failure = null;
    run.clock.advance((QUEUED_GRACE_SECONDS + 1) * 1000);
    const report = await run.runs.sweep();

    // Assess
    expect(response.status).toBe('queued');
    expect((await run.stored(job, response.execution_id)).execution.status).toBe('queued');
    const failures = run.logEntries().filter((entry) => entry.level === 'error');
    expect(failures).toEqual([
      expect.objectContaining({
        message: 'enqueue failed; the sweeper will retry',
        job_id: job.id,
        execution_id: response.execution_id,
        queue: 'default',
      }),
    ]);
    expect(report).toEqual({ requeued: 1, upgraded: true });
    expect(run.queue.sent).toEqual([
      {
        queue: 'default',
        message: { job_id: job.id, execution_id: response.execution_id, attempt: 1 },
        delaySeconds: undefined,
      },
    ]);
  });

  it('returns the first execution for a repeated idempotency key, sending it once', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();

    // Act
    const first = await run.runs.trigger(job.id, {}, 'key-1');
    const repeat = await run.runs.trigger(job.id, {}, 'key-1');
    const other = await run.runs.trigger(job.id, {}, 'key-2');

    // Assess
    expect(repeat).toEqual(first);
    expect(other.execution_id).not.toBe(first.execution_id);
    expect(run.queue.sent.map((sent) => sent.message.execution_id)).toEqual([
      first.execution_id,
      other.execution_id,
    ]);
    expect((await run.executions.list(job.id, { limit: 10, offset: 0 })).totalCount).toBe(2);
  });

  it('records a second run as skipped while the first is active under overlap_policy skip', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({ config: { overlap_policy: 'skip' } });
    const first = await run.runs.trigger(job.id, {});

    // Act
    const second = await run.runs.trigger(job.id, {});
    await run.runs.cancel(job.id, first.execution_id);
    const third = await run.runs.trigger(job.id, {});

    // Assess
    expect([first.status, second.status, third.status]).toEqual(['queued', 'skipped', 'queued']);
    expect(run.queue.sent.map((sent) => sent.message.execution_id)).toEqual([
      first.execution_id,
      third.execution_id,
    ]);
  });
});

describe('RunService history', () => {
  it('lists a job’s runs newest first with limit, offset, cursor and the total count', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.unshift((await run.runs.trigger(job.id, {})).execution_id);
      run.clock.advance(1000);
    }

    // Act
    const first = await run.listExecutions(job.id, { limit: '2' });
    const second = await run.listExecutions(job.id, { limit: '2', cursor: first.nextCursor as string });
    const offset = await run.listExecutions(job.id, { limit: '2', offset: '3' });

    // Assess
    expect(first.executions.map((execution) => execution.execution_id)).toEqual(ids.slice(0, 2));
    expect(second.executions.map((execution) => execution.execution_id)).toEqual(ids.slice(2, 4));
    expect(offset.executions.map((execution) => execution.execution_id)).toEqual(ids.slice(3, 5));
    expect(offset.nextCursor).toBeNull();
    expect([first.totalCount, second.totalCount, offset.totalCount]).toEqual([5, 5, 5]);
  });

  it('answers 422 naming each bad query parameter', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();

    // Act
    const error = await rejection(run.listExecutions(job.id, { limit: '0', offset: '-1', status: 'queued' }));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.details.map((detail) => detail.path).sort()).toEqual(['limit', 'offset', 'status']);
  });

  it('answers 404 for the history of an unknown job and for an unknown execution', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();

    // Act
    const history = await rejection(run.listExecutions('job_550e8400-e29b-41d4-a716-446655440000', {}));
    const execution = await rejection(run.runs.getExecution(job.id, 'exec_nope'));

    // Assess
    expect(history).toBeInstanceOf(NotFoundError);
    expect(execution).toBeInstanceOf(NotFoundError);
  });
});

describe('RunService.cancel', () => {
  it('cancels a queued run, which the sweeper then leaves alone', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();
    const { execution_id: id } = await run.runs.trigger(job.id, {});
    run.clock.advance(2000);

    // Act
    const cancelled = await run.runs.cancel(job.id, id);
    run.clock.advance(3600_000 * 2);
    const report = await run.runs.sweep();

    // Assess
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      finished_at: iso(START + 2000),
      duration_ms: null,
    });
    expect((await run.stored(job, id)).execution).toEqual(cancelled);
    expect(report).toEqual({ requeued: 0, upgraded: true });
  });

  it('cancels a running run, recording how long it ran', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();
    const { execution_id: id } = await run.runs.trigger(job.id, {});
    await run.claim({ job_id: job.id, execution_id: id });
    run.clock.advance(4500);

    // Act
    const cancelled = await run.runs.cancel(job.id, id);

    // Assess
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      started_at: iso(START),
      finished_at: iso(START + 4500),
      duration_ms: 4500,
    });
  });

  it('answers 409 for a run that has already ended, and leaves it as it was', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();
    const { execution_id: id } = await run.runs.trigger(job.id, {});
    const ended = await run.runs.cancel(job.id, id);

    // Act
    const error = await rejection(run.runs.cancel(job.id, id));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect((await run.stored(job, id)).execution).toEqual(ended);
  });

  it('answers 404 for an execution that does not exist', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();

    // Act
    const error = await rejection(run.runs.cancel(job.id, 'exec_000000000000000000000000000001'));

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
  });
});

describe('RunService.callback', () => {
  async function running() {
    const run = await setup();
    const job = await run.createJob();
    const { execution_id: id } = await run.runs.trigger(job.id, {});
    const token = await run.claim({ job_id: job.id, execution_id: id });
    run.clock.advance(7000);
    return { run, job, id, token };
  }

  it('finishes a running run with the right token: status, output and duration', async () => {
    // Prepare
    const { run, job, id, token } = await running();

    // Act
    const finished = await run.callback(id, token, { status: 'succeeded', output: { answer: 42 } });

    // Assess
    expect(finished).toMatchObject({
      status: 'succeeded',
      output: { answer: 42 },
      output_truncated: false,
      error_message: null,
      finished_at: iso(START + 7000),
      duration_ms: 7000,
    });
    expect((await run.stored(job, id)).execution).toEqual(finished);
  });

  it('records a reported failure with its message, or a default one', async () => {
    // Prepare
    const first = await running();
    const second = await running();

    // Act
    const withMessage = await first.run.callback(first.id, first.token, {
      status: 'failed',
      error_message: 'agent crashed',
    });
    const withoutMessage = await second.run.callback(second.id, second.token, { status: 'failed' });

    // Assess
    expect(withMessage).toMatchObject({ status: 'failed', error_message: 'agent crashed', output: null });
    expect(withoutMessage).toMatchObject({ status: 'failed', error_message: 'The target reported failure.' });
  });

  it('truncates an output over 64 KiB', async () => {
    // Prepare
    const { run, id, token } = await running();

    // Act
    const finished = await run.callback(id, token, {
      status: 'succeeded',
      output: { text: 'x'.repeat(70_000) },
    });

    // Assess
    expect(finished.output_truncated).toBe(true);
    expect(typeof finished.output).toBe('string');
    expect(Buffer.byteLength(finished.output as string, 'utf8')).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
  });

  it.each<[string, (context: { token: string; otherJobToken: string }) => string | null]>([
    ['no token', () => null],
    [
      'a token of the same job that is not this run’s',
      ({ token }) => `${token.split('.')[0]}.${'A'.repeat(43)}`,
    ],
    ['the token of another job', ({ otherJobToken }) => otherJobToken],
    ['a token with no job part', () => 'just-random-text'],
    ['an empty token', () => ''],
  ])('answers 401 for %s and changes nothing', async (_label, pickToken) => {
    // Prepare
    const { run, job, id, token } = await running();
    const other = await run.createJob();
    const otherRun = await run.runs.trigger(other.id, {});
    const otherJobToken = await run.claim({ job_id: other.id, execution_id: otherRun.execution_id });
    const before = (await run.stored(job, id)).execution;

    // Act
    const error = await rejection(
      run.callback(id, pickToken({ token, otherJobToken }), { status: 'succeeded' }),
    );

    // Assess
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(httpStatusOf(error)).toBe(401);
    expect((await run.stored(job, id)).execution).toEqual(before);
  });

  it('answers 401 for an execution id that does not exist', async () => {
    // Prepare
    const { run, token } = await running();

    // Act
    const error = await rejection(
      run.callback('exec_000000000000000000000000000001', token, { status: 'succeeded' }),
    );

    // Assess
    expect(error).toBeInstanceOf(UnauthorizedError);
  });

  it('answers 409 with the right token once the run has ended, keeping the first result', async () => {
    // Prepare
    const { run, job, id, token } = await running();
    const first = await run.callback(id, token, { status: 'succeeded', output: 'first' });

    // Act
    const again = await rejection(run.callback(id, token, { status: 'failed' }));

    // Assess
    expect(again).toBeInstanceOf(ConflictError);
    expect((await run.stored(job, id)).execution).toEqual(first);
  });

  it('answers 409 with the right token for a run that was cancelled', async () => {
    // Prepare
    const { run, job, id, token } = await running();
    await run.runs.cancel(job.id, id);

    // Act
    const error = await rejection(run.callback(id, token, { status: 'succeeded' }));

    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect((await run.stored(job, id)).execution.status).toBe('cancelled');
  });

  it('answers 422 for a body that is not a callback, with the right token', async () => {
    // Prepare
    const { run, id, token } = await running();

    // Act
    const error = await rejection(run.callback(id, token, { status: 'running', extra: 1 }));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.details.map((detail) => detail.path).sort()).toEqual(['extra', 'status']);
  });
});

describe('RunService.sweep', () => {
  it('sends a run still queued for its first attempt after the grace period again, once', async () => {
    // Prepare: the process that wrote the run stopped before its message was sent.
    const run = await setup();
    const job = await run.createJob({ executor_type: 'specific_queue', worker_queue_name: 'gpu' });
    const { execution_id: id } = await run.runs.trigger(job.id, {});
    run.queue.sent.length = 0;
    run.clock.advance((QUEUED_GRACE_SECONDS + 1) * 1000);

    // Act
    const first = await run.runs.sweep();
    run.clock.advance(60_000);
    const second = await run.runs.sweep();

    // Assess: each run is looked at once, by the sweep whose window it falls in.
    expect(first).toEqual({ requeued: 1, upgraded: true });
    expect(second).toEqual({ requeued: 0, upgraded: true });
    expect(run.queue.sent).toEqual([
      { queue: 'gpu', message: { job_id: job.id, execution_id: id, attempt: 1 }, delaySeconds: undefined },
    ]);
    expect((await run.stored(job, id)).execution.status).toBe('queued');
  });

  it('does not send a queued run that is still within its grace period', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();
    await run.runs.trigger(job.id, {});
    run.queue.sent.length = 0;
    run.clock.advance((QUEUED_GRACE_SECONDS - 1) * 1000);

    // Act
    const report = await run.runs.sweep();

    // Assess
    expect(report).toEqual({ requeued: 0, upgraded: true });
    expect(run.queue.sent).toEqual([]);
  });

  it('leaves alone runs a worker has claimed and runs waiting for a retry (their messages are the worker’s)', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob({ config: { retry: { max_attempts: 3 } } });
    const { execution_id: claimed } = await run.runs.trigger(job.id, {});
    const { execution_id: retrying } = await run.runs.trigger(job.id, {});
    await run.claim({ job_id: job.id, execution_id: claimed });
    await run.claim({ job_id: job.id, execution_id: retrying });
    await run.executions.transition(
      job.id,
      retrying,
      { from: ['running'] },
      { status: 'queued', attempt: 2 },
    );
    run.queue.sent.length = 0;
    run.clock.advance((QUEUED_GRACE_SECONDS + 1) * 1000);

    // Act
    const report = await run.runs.sweep();

    // Assess
    expect(report).toEqual({ requeued: 0, upgraded: true });
    expect(run.queue.sent).toEqual([]);
  });

  it('keeps a queued run for the next sweep when sending fails', async () => {
    // Prepare
    const run = await setup();
    const job = await run.createJob();
    const { execution_id: id } = await run.runs.trigger(job.id, {});
    run.queue.sent.length = 0;
    run.queue.failure = new Error('SQS is down');
    run.clock.advance((QUEUED_GRACE_SECONDS + 1) * 1000);

    // Act
    const failed = await run.runs.sweep();
    run.queue.failure = null;
    run.clock.advance(60_000);
    const retried = await run.runs.sweep();

    // Assess
    expect(failed).toEqual({ requeued: 0, upgraded: true });
    expect(retried).toEqual({ requeued: 1, upgraded: true });
    expect(run.queue.sent.map((sent) => sent.message.execution_id)).toEqual([id]);
    expect(run.logEntries().some((entry) => entry.message === 're-enqueue failed; next sweep retries')).toBe(
      true,
    );
  });
});

describe('RunService.dispatchCron', () => {
  it('starts one run per job and scheduled time, however often the fire is delivered, recording the time', async () => {
    // Prepare
    const { runs, createJob, executions, queue, clock, metrics } = await setup();
    const job = await createJob({ trigger_type: 'cron', cron_schedule: '0 10 * * *' });
    clock.advance(90_000);
    const scheduled = new Date(START).toISOString();

    // Act
    const first = await runs.dispatchCron(job.id, scheduled);
    const again = await runs.dispatchCron(job.id, scheduled);
    const next = await runs.dispatchCron(job.id, new Date(START + 86_400_000).toISOString());
    const history = await executions.list(job.id, { limit: 10, offset: 0 });

    // Assess
    expect(first?.kind).toBe('started');
    expect(again).toMatchObject({
      kind: 'duplicate',
      execution: { execution_id: first?.execution.execution_id },
    });
    expect(next?.kind).toBe('started');
    expect(history.totalCount).toBe(2);
    expect(first?.execution).toMatchObject({
      trigger_type: 'cron',
      dedupe_key: `cron:${scheduled}`,
      scheduled_at: scheduled,
      // Lateness is measured when a worker starts the run.
      lateness_ms: null,
      metadata: {},
    });
    // The repeat found its run still queued, so it sent it again (its writer may have stopped before sending).
    expect(queue.sent.map((sent) => sent.message.execution_id)).toEqual([
      first?.execution.execution_id,
      first?.execution.execution_id,
      next?.execution.execution_id,
    ]); // Each fire's lateness once, from its scheduled time to its dispatch (a fire dispatched early counts 0).
    expect(metrics.timed).toEqual([
      { name: 'CronFireLateness', milliseconds: 90_000, dimensions: {} },
      { name: 'CronFireLateness', milliseconds: 0, dimensions: {} },
    ]);
  });

  it('sends a repeated fire’s run again only while no worker has claimed it', async () => {
    // Prepare
    const { runs, createJob, queue, claim } = await setup();
    const job = await createJob({ trigger_type: 'cron', cron_schedule: '0 10 * * *' });
    const scheduled = new Date(START).toISOString();
    const first = await runs.dispatchCron(job.id, scheduled);
    await claim({ job_id: job.id, execution_id: first?.execution.execution_id as string });
    queue.sent.length = 0;

    // Act
    const again = await runs.dispatchCron(job.id, scheduled);

    // Assess
    expect(again?.kind).toBe('duplicate');
    expect(queue.sent).toEqual([]);
  });

  it('ignores a fire at a time that is not a fire time of the job (a schedule not yet updated)', async () => {
    // Prepare
    const { runs, createJob, queue, logEntries } = await setup();
    const job = await createJob({
      trigger_type: 'cron',
      cron_schedule: '30 6 * * 1-5',
      cron_timezone: 'America/New_York',
    });
    // Monday 2 June 2025: 06:30 in New York (EDT) is 10:30Z; 06:30Z is the expression read as UTC.
    const inZone = '2025-06-02T10:30:00.000Z';
    const asUtc = '2025-06-02T06:30:00.000Z';
    const saturday = '2025-06-07T10:30:00.000Z';

    // Act
    const outcomes = await Promise.all([
      runs.dispatchCron(job.id, asUtc),
      runs.dispatchCron(job.id, saturday),
      runs.dispatchCron(job.id, inZone),
    ]);

    // Assess
    expect(outcomes.map((outcome) => outcome?.kind ?? null)).toEqual([null, null, 'started']);
    expect(queue.sent).toHaveLength(1);
    expect(
      logEntries().filter((entry) => entry.message === 'cron fire not at a fire time of the job ignored'),
    ).toHaveLength(2);
  });

  it('starts nothing for a job that is gone, disabled or no longer cron, and refuses a malformed time', async () => {
    // Prepare
    const { runs, createJob, jobs, queue } = await setup();
    const disabled = await createJob({ trigger_type: 'cron', cron_schedule: '0 9 * * *', enabled: false });
    const manual = await createJob();
    const scheduled = new Date(START).toISOString();

    // Act
    const outcomes = await Promise.all([
      runs.dispatchCron('job_00000000-0000-4000-8000-00000000dead', scheduled),
      runs.dispatchCron(disabled.id, scheduled),
      runs.dispatchCron(manual.id, scheduled),
    ]);
    const malformed = await rejection(runs.dispatchCron(manual.id, 'yesterday'));

    // Assess
    expect(outcomes).toEqual([null, null, null]);
    expect(queue.sent).toEqual([]);
    expect(malformed).toBeInstanceOf(ValidationError);
    expect(await jobs.get(disabled.id)).toMatchObject({ enabled: false });
  });
});
