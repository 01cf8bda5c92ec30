import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashedApiKeys } from '../../shared/adapters/api-keys.js';
import { DynamoEntityStore } from '../../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { DynamoWebhookStore } from '../../shared/adapters/aws/dynamo-webhook-store.js';
import { shardOf } from '../../shared/adapters/aws/execution-item.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds } from '../../shared/adapters/system.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import type {
  Execution,
  ExecutionStatus,
  RecentExecutionListResponse,
  TriggerResponse,
} from '../../shared/domain/execution.js';
import type { Job } from '../../shared/domain/job.js';
import { type ApiEventInput, type ApiResult, callApi } from '../support/api-events.js';
import {
  FakeSecretBox,
  MemoryScheduler,
  makeEntity,
  openDeployment,
  RecordingMetrics,
  RecordingQueue,
} from '../support/memory-stores.js';
import { testApiHandler } from '../support/services.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

// GET /executions and POST /jobs/{id}/executions/{eid}/replay through the API handler over the DynamoDB
// stores: runs spread over the 16 run partitions, failures read from their index, one table for the file.

const API_KEY = 'runs-api-key';
/** A cursor of a job's history that stopped while skipping an offset: no position in a list of runs. */
const SKIPPING_CURSOR = Buffer.from(
  JSON.stringify({ after: 'exec_0m5xy3k0w4f1d2c3b4a5968778695', skip: 3 }),
).toString('base64url');
const FINAL: ExecutionStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'succeeded', 'queued'];

let table: TestTable;
let executions: DynamoExecutionStore;
let queue: RecordingQueue;
let handler: ReturnType<typeof testApiHandler>;
let call: (input: ApiEventInput) => Promise<ApiResult>;
/** The jobs the listing tests run, and their runs newest first, each with the status it ended in. */
const jobs: Job[] = [];
const runs: { id: string; jobId: string; status: ExecutionStatus }[] = [];

async function createJob(body: Record<string, unknown>): Promise<Job> {
  const created = await call({ method: 'POST', path: '/jobs', body: JSON.stringify(body) });
  expect(created.status).toBe(201);
  return created.json as Job;
}

async function trigger(jobId: string, body: Record<string, unknown> = {}): Promise<TriggerResponse> {
  const result = await call({ method: 'POST', path: `/jobs/${jobId}/trigger`, body: JSON.stringify(body) });
  expect(result.status).toBe(202);
  return result.json as TriggerResponse;
}

/** Ends a queued run as the worker or the sweeper would. */
async function end(jobId: string, executionId: string, status: ExecutionStatus): Promise<void> {
  if (status === 'queued') return;
  const ended = await executions.transition(
    jobId,
    executionId,
    { from: ['queued'] },
    {
      status,
      finished_at: new Date().toISOString(),
      ...(status === 'failed' && { error_message: 'Target answered 500' }),
    },
  );
  expect(ended.ok).toBe(true);
}

/** Follows `next_cursor` from the first page to the last; every id in order. */
async function walk(query: Record<string, string>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const result = await call({
      method: 'GET',
      path: '/executions',
      query: { ...query, ...(cursor && { cursor }) },
    });
    expect(result.status).toBe(200);
    const page = result.json as RecentExecutionListResponse;
    expect(Object.keys(page)).toEqual(['executions', 'next_cursor']);
    ids.push(...page.executions.map((execution) => execution.execution_id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor !== null && pages < 40);
  return { ids, pages };
}

const idsOf = (wanted: { jobId?: string; statuses?: ExecutionStatus[] }) =>
  runs
    .filter((run) => wanted.jobId === undefined || run.jobId === wanted.jobId)
    .filter((run) => wanted.statuses === undefined || wanted.statuses.includes(run.status))
    .map((run) => run.id);

function detailsOf(result: ApiResult): ErrorDetail[] {
  return (result.json as { error: { details: ErrorDetail[] } }).error.details;
}

beforeAll(async () => {
  table = await createTestTable('runs-api');
  const entities = new DynamoEntityStore(table.documents, table.tableName);
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  executions = new DynamoExecutionStore(table.documents, table.tableName);
  queue = new RecordingQueue();
  handler = testApiHandler({
    jobStore: new DynamoJobStore(table.documents, table.tableName),
    webhooks: new DynamoWebhookStore(table.documents, table.tableName),
    entities,
    executions,
    queue,
    secrets: new FakeSecretBox(),
    deployment: openDeployment(),
    apiKeys: HashedApiKeys.fromKeys([API_KEY]),
    scheduler: new MemoryScheduler(),
    clock: { now: () => new Date() },
    ids: randomIds,
    logger: createLogger({ level: 'silent' }),
    metrics: new RecordingMetrics(),
  });
  call = (input) =>
    callApi(handler, { ...input, headers: { authorization: `Bearer ${API_KEY}`, ...input.headers } });

  for (const name of ['Backup', 'Report', 'Deploy']) {
    jobs.push(await createJob({ name, trigger_type: 'manual', prompt_template: `${name} {{ n }}` }));
  }
  for (let index = 0; index < 42; index++) {
    const job = jobs[index % jobs.length] as Job;
    const status = FINAL[index % FINAL.length] as ExecutionStatus;
    const { execution_id: id } = await trigger(job.id, { parameters: { n: index } });
    await end(job.id, id, status);
    runs.push({ id, jobId: job.id, status });
  }
  runs.sort((a, b) => (a.id < b.id ? 1 : -1)); // newest first, as ids sort
}, 60_000);

afterAll(async () => {
  await table?.drop();
});

describe('GET /executions', () => {
  it('pages through the runs of every job newest first, across the run partitions, without loss or repeats', async () => {
    // Act
    const { ids, pages } = await walk({ limit: '5' });
    const first = await call({ method: 'GET', path: '/executions', query: { limit: '3' } });

    // Assess
    expect(new Set(runs.map((run) => shardOf(run.id))).size).toBe(16);
    expect(ids).toEqual(idsOf({}));
    expect(pages).toBe(Math.ceil(runs.length / 5));
    const page = first.json as RecentExecutionListResponse;
    expect(page.executions.map((execution) => execution.execution_id)).toEqual(idsOf({}).slice(0, 3));
    expect(page.executions[0]).toMatchObject({ job_name: expect.any(String), prompt: expect.any(String) });
    expect(page.executions[0]).not.toHaveProperty('replay_of');
  });

  it('filters by status: failed and timed-out runs from the failures index, others from the run partitions', async () => {
    // Act
    const failures = await walk({ status: 'failed,timed_out', limit: '4' });
    const failed = await walk({ status: 'failed' });
    const active = await walk({ status: 'queued,cancelled', limit: '100' });

    // Assess
    expect(failures.ids).toEqual(idsOf({ statuses: ['failed', 'timed_out'] }));
    expect(failures.ids.length).toBe(14);
    expect(failed.ids).toEqual(idsOf({ statuses: ['failed'] }));
    expect(active.ids).toEqual(idsOf({ statuses: ['queued', 'cancelled'] }));
  });

  it('filters by job, alone or with statuses, paging with the cursor', async () => {
    // Prepare
    const job = jobs[1] as Job;

    // Act
    const all = await walk({ job_id: job.id, limit: '4' });
    const failures = await walk({ job_id: job.id, status: 'failed,timed_out', limit: '2' });
    const succeeded = await walk({ job_id: job.id, status: 'succeeded', limit: '100' });
    const unknown = await walk({ job_id: 'job_00000000-0000-4000-8000-000000000000' });

    // Assess
    expect(all.ids).toEqual(idsOf({ jobId: job.id }));
    expect(failures.ids).toEqual(idsOf({ jobId: job.id, statuses: ['failed', 'timed_out'] }));
    expect(failures.ids.length).toBeGreaterThan(2);
    expect(succeeded.ids).toEqual(idsOf({ jobId: job.id, statuses: ['succeeded'] }));
    expect(unknown.ids).toEqual([]);
  });

  it.each<[string, Record<string, string>, number, string, string]>([
    ['an unknown status', { status: 'failed,broken' }, 422, 'status', 'invalid'],
    ['an empty status', { status: '' }, 422, 'status', 'invalid'],
    ['a limit over 100', { limit: '101' }, 422, 'limit', 'invalid'],
    ['a limit of 0', { limit: '0' }, 422, 'limit', 'invalid'],
    ['a limit given twice', { limit: '5,6' }, 422, 'limit', 'repeated_parameter'],
    ['a job id of the wrong shape', { job_id: 'backup' }, 422, 'job_id', 'invalid'],
    ['an unknown parameter', { state: 'failed' }, 422, 'state', 'unknown_field'],
    ['a cursor it did not issue', { cursor: 'bm90LWEtY3Vyc29y' }, 400, 'cursor', 'invalid_cursor'],
    ['a history cursor still skipping', { cursor: SKIPPING_CURSOR }, 400, 'cursor', 'invalid_cursor'],
  ])('answers %s with a %i naming the field', async (_case, query, status, path, code) => {
    // Act
    const result = await call({ method: 'GET', path: '/executions', query });

    // Assess
    expect(result.status).toBe(status);
    expect(detailsOf(result)).toEqual([expect.objectContaining({ path, code })]);
  });

  it('needs the API key', async () => {
    // Act
    const result = await callApi(handler, { method: 'GET', path: '/executions' });

    // Assess
    expect(result.status).toBe(401);
  });
});

describe('POST /jobs/{id}/executions/{eid}/replay', () => {
  it('starts the job as it is now with the run’s parameters and config override, recording replay_of', async () => {
    // Prepare: a run with an override, then the job's config changes (the fix)
    const job = await createJob({
      name: 'Flaky',
      trigger_type: 'manual',
      prompt_template: 'Sync {{ target }}',
      config: { timeout: 60, retry: { max_attempts: 1 } },
    });
    const original = await trigger(job.id, {
      parameters: { target: 'crm' },
      config_override: { retry: { max_attempts: 2 }, region: 'eu' },
    });
    await end(job.id, original.execution_id, 'timed_out');
    const patched = await call({
      method: 'PATCH',
      path: `/jobs/${job.id}`,
      body: JSON.stringify({ config: { timeout: 900, retry: { max_attempts: 1, backoff_seconds: 5 } } }),
    });
    expect(patched.status).toBe(200);

    // Act
    const replayed = await call({
      method: 'POST',
      path: `/jobs/${job.id}/executions/${original.execution_id}/replay`,
    });
    const { execution_id: replayId } = replayed.json as TriggerResponse;
    const shown = await call({ method: 'GET', path: `/jobs/${job.id}/executions/${replayId}` });
    const listed = await walk({ job_id: job.id });

    // Assess
    expect(replayed.status).toBe(202);
    expect(replayed.json).toEqual({
      workflow_id: `wf_${replayId.slice('exec_'.length)}`,
      execution_id: expect.stringMatching(/^exec_/),
      status: 'queued',
    });
    expect(replayId).not.toBe(original.execution_id);
    const execution = shown.json as Execution;
    expect(execution).toMatchObject({
      replay_of: original.execution_id,
      trigger_type: 'manual',
      status: 'queued',
      parameters: { target: 'crm' },
      prompt: 'Sync crm',
      config: { timeout: 900, retry: { max_attempts: 2, backoff_seconds: 5 }, region: 'eu' },
      max_attempts: 2,
      dedupe_key: null,
    });
    expect(Object.keys(execution).indexOf('replay_of')).toBe(
      Object.keys(execution).indexOf('dedupe_key') + 1,
    );
    expect(listed.ids).toEqual([replayId, original.execution_id]);
    expect(queue.sent.filter((sent) => sent.message.execution_id === replayId)).toHaveLength(1);
  });

  it('answers a repeat with the same Idempotency-Key with the first replay, and starts one per key and run', async () => {
    // Prepare
    const job = await createJob({ name: 'Once', trigger_type: 'manual', prompt_template: 'Go' });
    const first = await trigger(job.id);
    const second = await trigger(job.id);
    const replay = (executionId: string, key: string) =>
      call({
        method: 'POST',
        path: `/jobs/${job.id}/executions/${executionId}/replay`,
        headers: { 'idempotency-key': key },
      });

    // Act
    const a = await replay(first.execution_id, 'fix-1');
    const again = await replay(first.execution_id, 'fix-1');
    const otherKey = await replay(first.execution_id, 'fix-2');
    const otherRun = await replay(second.execution_id, 'fix-1');
    const badKey = await replay(first.execution_id, 'spaces are not allowed');

    // Assess
    const id = (result: ApiResult) => (result.json as TriggerResponse).execution_id;
    expect([a.status, again.status, otherKey.status, otherRun.status]).toEqual([202, 202, 202, 202]);
    expect(id(again)).toBe(id(a));
    expect(new Set([id(a), id(otherKey), id(otherRun)]).size).toBe(3);
    expect(queue.sent.filter((sent) => sent.message.execution_id === id(a))).toHaveLength(1);
    expect(badKey.status).toBe(422);
    expect(detailsOf(badKey)).toEqual([expect.objectContaining({ path: 'Idempotency-Key' })]);
    expect((await walk({ job_id: job.id })).ids).toHaveLength(5);
  });

  it('answers 404 for an unknown job or run, or a run of another job, and 409 for a disabled job', async () => {
    // Prepare
    const job = await createJob({ name: 'Paused', trigger_type: 'manual', prompt_template: 'x' });
    const other = await createJob({ name: 'Other', trigger_type: 'manual', prompt_template: 'y' });
    const run = await trigger(job.id);
    const otherRun = await trigger(other.id);
    await call({ method: 'POST', path: `/jobs/${job.id}/disable` });
    const replay = (jobId: string, executionId: string) =>
      call({ method: 'POST', path: `/jobs/${jobId}/executions/${executionId}/replay` });

    // Act
    const unknownJob = await replay('job_00000000-0000-4000-8000-000000000000', run.execution_id);
    const unknownRun = await replay(other.id, 'exec_000000000000000000000000000000');
    const malformedRun = await replay(other.id, 'nope');
    const crossed = await replay(other.id, run.execution_id);
    const disabled = await replay(job.id, run.execution_id);
    const oversized = await call({
      method: 'POST',
      path: `/jobs/${other.id}/executions/${otherRun.execution_id}/replay`,
      body: 'x'.repeat(256 * 1024 + 1),
    });

    // Assess
    expect([unknownJob.status, unknownRun.status, malformedRun.status, crossed.status]).toEqual([
      404, 404, 404, 404,
    ]);
    expect(disabled.status).toBe(409);
    expect(oversized.status).toBe(413);
    expect((await walk({ job_id: job.id })).ids).toEqual([run.execution_id]);
    expect((await walk({ job_id: other.id })).ids).toEqual([otherRun.execution_id]);
  });

  it('replays a run recorded before overrides were kept with its whole config', async () => {
    // Prepare: a run written as the previous version did, with no override on record
    const job = await createJob({
      name: 'Old',
      trigger_type: 'manual',
      prompt_template: 'Old {{ n }}',
      config: { timeout: 120 },
    });
    const { execution_id: templateId } = await trigger(job.id, { parameters: { n: 1 } });
    const stored = await executions.get(job.id, templateId);
    const oldId = randomIds.executionId();
    await executions.start({
      execution: {
        ...(stored?.execution as Execution),
        execution_id: oldId,
        workflow_id: `wf_${oldId.slice('exec_'.length)}`,
        config: { timeout: 300, note: 'from then' },
      },
      exclusive: false,
      expiresAt: 4_000_000_000,
    });

    // Act
    const replayed = await call({ method: 'POST', path: `/jobs/${job.id}/executions/${oldId}/replay` });
    const shown = await executions.get(job.id, (replayed.json as TriggerResponse).execution_id);

    // Assess
    expect(replayed.status).toBe(202);
    expect((await executions.get(job.id, oldId))?.configOverride).toBeUndefined();
    expect(shown?.execution).toMatchObject({ replay_of: oldId, config: { timeout: 300, note: 'from then' } });
    expect(shown?.configOverride).toEqual({ timeout: 300, note: 'from then' });
  });
});
