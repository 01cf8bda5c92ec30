import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { BadRequestError, NotFoundError } from '../../shared/domain/errors.js';
import type { Execution } from '../../shared/domain/execution.js';
import { buildJobSpec, type Job } from '../../shared/domain/job.js';
import type { StartRunRequest } from '../../shared/ports.js';
import { recordingDocuments } from '../support/recording-documents.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const minutes = (count: number) => new Date(NOW.getTime() + count * 60_000).toISOString();

let issued = 0;
/** Time-ordered ids in the service's format: later calls sort after earlier ones. */
function executionId(): string {
  issued++;
  return `exec_${(NOW.getTime() + issued).toString(36).padStart(9, '0')}${issued.toString(16).padStart(20, '0')}`;
}

function makeJob(): Job {
  const spec = buildJobSpec({ name: 'job', trigger_type: 'manual', prompt_template: 'Do it' });
  const at = NOW.toISOString();
  return { id: `job_${randomUUID()}`, ...spec, created_at: at, updated_at: at };
}

function makeExecution(job: Job, overrides: Partial<Execution> = {}): Execution {
  const id = overrides.execution_id ?? executionId();
  return {
    execution_id: id,
    workflow_id: `wf_${id.slice('exec_'.length)}`,
    job_id: job.id,
    job_name: job.name,
    status: 'queued',
    trigger_type: 'manual',
    parameters: {},
    prompt: 'Do it',
    system_prompt: null,
    config: {},
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
    created_at: NOW.toISOString(),
    started_at: null,
    finished_at: null,
    duration_ms: null,
    deadline_at: null,
    error_message: null,
    output: null,
    output_truncated: false,
    ...overrides,
  };
}

function request(execution: Execution, overrides: Partial<StartRunRequest> = {}): StartRunRequest {
  return {
    execution,
    exclusive: false,
    expiresAt: Math.floor(NOW.getTime() / 1000) + 86_400,
    sweepAt: minutes(2),
    ...overrides,
  };
}

let table: TestTable;
let jobs: DynamoJobStore;
let store: DynamoExecutionStore;

beforeAll(async () => {
  table = await createTestTable('executions');
  jobs = new DynamoJobStore(table.documents, table.tableName);
  store = new DynamoExecutionStore(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.drop();
});

async function storedJob(): Promise<Job> {
  const job = makeJob();
  await jobs.create(job);
  return job;
}

/** Takes a queued execution to running and then to `status`, as a worker would. */
async function finish(execution: Execution, status: 'succeeded' | 'cancelled' = 'succeeded') {
  const running = await store.transition(
    execution.job_id,
    execution.execution_id,
    { from: ['queued'] },
    { status: 'running', leaseUntil: minutes(5) },
  );
  expect(running).not.toBeNull();
  const ended = await store.transition(
    execution.job_id,
    execution.execution_id,
    { from: ['running'] },
    { status, finished_at: minutes(1), leaseUntil: null },
  );
  expect(ended?.status).toBe(status);
}

async function lockHolder(jobId: string): Promise<unknown> {
  const lock = await table.documents.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: `JOB#${jobId}`, sk: 'RUN_LOCK' } }),
  );
  return lock.Item?.execution_id;
}

describe('DynamoExecutionStore start', () => {
  it('writes the execution as queued and counts it on the job', async () => {
    // Prepare
    const job = await storedJob();
    const execution = makeExecution(job);

    // Act
    const outcome = await store.start(request(execution));
    const stored = await store.get(job.id, execution.execution_id);
    const page = await store.list(job.id, { limit: 10, offset: 0 });
    const jobAfter = await jobs.get(job.id);

    // Assess
    expect(outcome).toEqual({ kind: 'started', execution });
    expect(stored).toEqual({ execution, callbackTokenHash: '', leaseUntil: null, exclusive: false });
    expect(page.totalCount).toBe(1);
    expect(page.executions).toEqual([execution]);
    // The counter lives on the job item; the job document itself is untouched.
    expect(jobAfter).toEqual({ job, version: 1 });
  });

  it('refuses a run of a job that does not exist and writes nothing', async () => {
    // Prepare
    const ghost = makeJob();
    const execution = makeExecution(ghost);

    // Act
    const outcome = store.start(request(execution, { dedupeKey: 'k', exclusive: true }));

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.get(ghost.id, execution.execution_id)).toBeNull();
    expect(await lockHolder(ghost.id)).toBeUndefined();
  });

  it('returns the first execution for a repeated dedupe key and writes no second one', async () => {
    // Prepare
    const job = await storedJob();
    const first = makeExecution(job, { dedupe_key: 'delivery-1' });
    const repeat = makeExecution(job, { dedupe_key: 'delivery-1' });
    await store.start(request(first, { dedupeKey: 'delivery-1' }));

    // Act
    const outcome = await store.start(request(repeat, { dedupeKey: 'delivery-1' }));
    const other = await store.start(request(makeExecution(job), { dedupeKey: 'delivery-2' }));

    // Assess
    expect(outcome).toEqual({ kind: 'duplicate', execution: first });
    expect(other.kind).toBe('started');
    expect(await store.get(job.id, repeat.execution_id)).toBeNull();
    expect((await store.list(job.id, { limit: 10, offset: 0 })).totalCount).toBe(2);
  });

  it('starts exactly one of several concurrent runs with the same dedupe key', async () => {
    // Prepare
    const job = await storedJob();
    const candidates = Array.from({ length: 5 }, () => makeExecution(job, { dedupe_key: 'fire-1' }));

    // Act
    const outcomes = await Promise.all(
      candidates.map((execution) => store.start(request(execution, { dedupeKey: 'fire-1' }))),
    );

    // Assess
    const started = outcomes.filter((outcome) => outcome.kind === 'started');
    expect(started).toHaveLength(1);
    const winner = started[0]?.execution.execution_id;
    for (const outcome of outcomes) expect(outcome.execution.execution_id).toBe(winner);
    const page = await store.list(job.id, { limit: 10, offset: 0 });
    expect(page.totalCount).toBe(1);
    expect(page.executions.map((execution) => execution.execution_id)).toEqual([winner]);
  });

  it('counts every one of several concurrent runs of the same job', async () => {
    // Prepare
    const job = await storedJob();
    const candidates = Array.from({ length: 5 }, () => makeExecution(job));

    // Act
    const outcomes = await Promise.all(candidates.map((execution) => store.start(request(execution))));

    // Assess
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(Array(5).fill('started'));
    const page = await store.list(job.id, { limit: 10, offset: 0 });
    expect(page.totalCount).toBe(5);
    expect(page.executions).toHaveLength(5);
  });

  it('records a skipped execution while another exclusive run is active', async () => {
    // Prepare
    const job = await storedJob();
    const active = makeExecution(job);
    await store.start(request(active, { exclusive: true }));
    const overlapping = makeExecution(job);

    // Act
    const outcome = await store.start(request(overlapping, { exclusive: true }));
    const stored = await store.get(job.id, overlapping.execution_id);
    const due = await store.listDue(new Date(minutes(60)), 100);

    // Assess
    const skipped = { ...overlapping, status: 'skipped', finished_at: overlapping.created_at };
    expect(outcome).toEqual({ kind: 'skipped', execution: skipped });
    expect(stored).toEqual({ execution: skipped, callbackTokenHash: '', leaseUntil: null, exclusive: false });
    expect(await lockHolder(job.id)).toBe(active.execution_id);
    expect((await store.list(job.id, { limit: 10, offset: 0 })).totalCount).toBe(2);
    // A skipped run is terminal: the sweeper never looks at it.
    expect(due.map((item) => item.executionId)).not.toContain(overlapping.execution_id);
  });

  it('releases the lock when the exclusive run ends, so the next exclusive start runs', async () => {
    // Prepare
    const job = await storedJob();
    const first = makeExecution(job);
    await store.start(request(first, { exclusive: true }));
    await finish(first);

    // Act
    const next = makeExecution(job);
    const outcome = await store.start(request(next, { exclusive: true }));

    // Assess
    expect(outcome.kind).toBe('started');
    expect(await lockHolder(job.id)).toBe(next.execution_id);
  });

  it('lets non-exclusive runs start beside an exclusive one without touching its lock', async () => {
    // Prepare
    const job = await storedJob();
    const exclusive = makeExecution(job);
    await store.start(request(exclusive, { exclusive: true }));

    // Act
    const outcome = await store.start(request(makeExecution(job)));

    // Assess
    expect(outcome.kind).toBe('started');
    expect(await lockHolder(job.id)).toBe(exclusive.execution_id);
  });

  it.each([
    ['a run that has ended', 'ended'],
    ['a run that no longer exists', 'missing'],
  ])('heals a stale lock naming %s and starts the next exclusive run', async (_label, holderState) => {
    // Prepare
    const job = await storedJob();
    let holderId = executionId();
    if (holderState === 'ended') {
      const ended = makeExecution(job);
      await store.start(request(ended));
      await finish(ended, 'cancelled');
      holderId = ended.execution_id;
    }
    // The release after the holder ended was lost (e.g. the process stopped between the two writes).
    await table.documents.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { pk: `JOB#${job.id}`, sk: 'RUN_LOCK', execution_id: holderId },
      }),
    );
    const next = makeExecution(job);

    // Act
    const outcome = await store.start(request(next, { exclusive: true }));

    // Assess
    expect(outcome.kind).toBe('started');
    expect(await lockHolder(job.id)).toBe(next.execution_id);
  });
});

describe('DynamoExecutionStore list', () => {
  let job: Job;
  const ids: string[] = [];

  beforeAll(async () => {
    job = await storedJob();
    for (let index = 0; index < 7; index++) {
      const execution = makeExecution(job);
      ids.push(execution.execution_id);
      await store.start(request(execution));
    }
    // Newest first.
    ids.reverse();
  });

  const idsOf = (executions: Execution[]) => executions.map((execution) => execution.execution_id);

  it('lists newest first with limit and offset, and the total count', async () => {
    // Prepare
    const options = [
      { limit: 3, offset: 0 },
      { limit: 3, offset: 2 },
      { limit: 3, offset: 5 },
      { limit: 10, offset: 0 },
      { limit: 3, offset: 7 },
    ];

    // Act
    const pages = await Promise.all(options.map((option) => store.list(job.id, option)));

    // Assess
    expect(pages.map((page) => idsOf(page.executions))).toEqual([
      ids.slice(0, 3),
      ids.slice(2, 5),
      ids.slice(5, 7),
      ids,
      [],
    ]);
    expect(pages.map((page) => page.totalCount)).toEqual([7, 7, 7, 7, 7]);
    expect(pages.map((page) => page.nextCursor === null)).toEqual([false, false, true, true, true]);
  });

  it('continues from a cursor without loss or repeats', async () => {
    // Prepare
    const seen: string[][] = [];
    let cursor: string | undefined;

    // Act
    do {
      const page = await store.list(job.id, { limit: 3, offset: 0, ...(cursor && { cursor }) });
      seen.push(idsOf(page.executions));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && seen.length < 10);

    // Assess
    expect(seen).toEqual([ids.slice(0, 3), ids.slice(3, 6), ids.slice(6)]);
  });

  it('applies an offset after the cursor', async () => {
    // Prepare
    const first = await store.list(job.id, { limit: 2, offset: 0 });

    // Act
    const page = await store.list(job.id, { limit: 2, offset: 1, cursor: first.nextCursor as string });

    // Assess
    expect(idsOf(page.executions)).toEqual(ids.slice(3, 5));
  });

  it('lists nothing, with a zero count, for a job without runs', async () => {
    // Prepare
    const idle = await storedJob();

    // Act
    const page = await store.list(idle.id, { limit: 10, offset: 0 });

    // Assess
    expect(page).toEqual({ executions: [], nextCursor: null, totalCount: 0 });
  });

  it('rejects a cursor it did not issue with a 400 error', async () => {
    // Prepare
    const position = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = [
      position({ after: 'exec_x' }),
      position({ after: ids[0], skip: -1 }),
      position({ after: ids[0], skip: 1.5 }),
      position({ after: ids[0], skip: '2' }),
      position({ after: ids[0], skip: 10_000_000 }),
    ];

    // Act
    const attempts = forged.map((cursor) => store.list(job.id, { limit: 2, offset: 0, cursor }));

    // Assess
    for (const attempt of attempts) await expect(attempt).rejects.toBeInstanceOf(BadRequestError);
  });

  it('skips an offset reading keys only, and reads whole items only for the page', async () => {
    // Prepare
    const recorder = recordingDocuments(table.documents);
    const recorded = new DynamoExecutionStore(recorder.client, table.tableName);

    // Act
    const page = await recorded.list(job.id, { limit: 2, offset: 4 });
    const queries = recorder.take();

    // Assess
    expect(idsOf(page.executions)).toEqual(ids.slice(4, 6));
    const keysOnly = queries.filter((query) => query.input.ProjectionExpression !== undefined);
    const whole = queries.filter((query) => query.input.ProjectionExpression === undefined);
    expect(keysOnly.map((query) => query.input.ProjectionExpression)).toEqual(['sk']);
    expect(keysOnly.reduce((sum, query) => sum + query.returned, 0)).toBe(4);
    expect(whole.reduce((sum, query) => sum + query.returned, 0)).toBe(3);
    for (const query of queries) expect(query.input.Limit).toBeLessThanOrEqual(4);
  });

  it.each([
    ['items', { items: 3, queries: 100 }],
    ['queries', { items: 1_000, queries: 1 }],
  ])(
    'stops at its ceiling of %s read, with a cursor that carries the rest of the offset',
    async (_name, ceiling) => {
      // Prepare
      const recorder = recordingDocuments(table.documents);
      const bounded = new DynamoExecutionStore(recorder.client, table.tableName, ceiling);
      const pages: string[][] = [];
      const reads: { items: number; queries: number }[] = [];
      let cursor: string | undefined;

      // Act
      do {
        const page = await bounded.list(job.id, {
          limit: 2,
          offset: cursor === undefined ? 5 : 0,
          ...(cursor && { cursor }),
        });
        const queries = recorder.take();
        reads.push({
          items: queries.reduce((sum, query) => sum + query.scanned, 0),
          queries: queries.length,
        });
        pages.push(idsOf(page.executions));
        expect(page.totalCount).toBe(7);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && pages.length < 20);

      // Assess
      expect(pages[0]).toEqual([]);
      expect(pages.flat()).toEqual(ids.slice(5));
      for (const read of reads) {
        expect(read.items).toBeLessThanOrEqual(ceiling.items);
        expect(read.queries).toBeLessThanOrEqual(ceiling.queries);
      }
    },
  );
});

describe('DynamoExecutionStore findByDedupeKey', () => {
  it('returns the execution a key started, and null for a key never used', async () => {
    // Prepare
    const job = await storedJob();
    const first = makeExecution(job, { dedupe_key: 'webhook:d-1' });
    await store.start(request(first, { dedupeKey: 'webhook:d-1' }));

    // Act
    const found = await store.findByDedupeKey(job.id, 'webhook:d-1');
    const unknown = await store.findByDedupeKey(job.id, 'webhook:d-2');
    const otherJob = await store.findByDedupeKey((await storedJob()).id, 'webhook:d-1');

    // Assess
    expect(found).toEqual(first);
    expect(unknown).toBeNull();
    expect(otherJob).toBeNull();
  });
});

describe('DynamoExecutionStore transition', () => {
  async function queued(overrides: Partial<Execution> = {}): Promise<Execution> {
    const job = await storedJob();
    const execution = makeExecution(job, overrides);
    await store.start(request(execution));
    return execution;
  }

  it('applies a change whose condition holds, and stores the lease and callback token hash', async () => {
    // Prepare
    const execution = await queued();

    // Act
    const running = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['queued'], attempt: 1 },
      {
        status: 'running',
        started_at: NOW.toISOString(),
        deadline_at: minutes(60),
        leaseUntil: minutes(1),
        callbackTokenHash: 'hash-1',
        sweepAt: minutes(60),
      },
    );

    // Assess
    const expected = {
      ...execution,
      status: 'running',
      started_at: NOW.toISOString(),
      deadline_at: minutes(60),
    };
    expect(running).toEqual(expected);
    expect(await store.get(execution.job_id, execution.execution_id)).toEqual({
      execution: expected,
      callbackTokenHash: 'hash-1',
      leaseUntil: minutes(1),
      exclusive: false,
    });
  });

  it('returns null when the status, the attempt or the lease condition does not hold, changing nothing', async () => {
    // Prepare
    const execution = await queued();
    const { job_id: jobId, execution_id: id } = execution;
    await store.transition(jobId, id, { from: ['queued'] }, { status: 'running', leaseUntil: minutes(10) });

    // Act
    const wrongStatus = await store.transition(jobId, id, { from: ['queued'] }, { status: 'cancelled' });
    const wrongAttempt = await store.transition(
      jobId,
      id,
      { from: ['running'], attempt: 2 },
      { status: 'failed' },
    );
    const leaseHeld = await store.transition(
      jobId,
      id,
      { from: ['running'], leaseExpiredBefore: minutes(5) },
      { attempt: 2, leaseUntil: minutes(20) },
    );
    const missing = await store.transition(jobId, executionId(), { from: ['queued'] }, { status: 'running' });

    // Assess
    expect([wrongStatus, wrongAttempt, leaseHeld, missing]).toEqual([null, null, null, null]);
    expect(await store.get(jobId, id)).toMatchObject({
      execution: { status: 'running', attempt: 1 },
      leaseUntil: minutes(10),
    });
  });

  it('lets a takeover through once the lease has ended', async () => {
    // Prepare
    const execution = await queued();
    const { job_id: jobId, execution_id: id } = execution;
    await store.transition(jobId, id, { from: ['queued'] }, { status: 'running', leaseUntil: minutes(1) });

    // Act
    const takenOver = await store.transition(
      jobId,
      id,
      { from: ['running'], attempt: 1, leaseExpiredBefore: minutes(2) },
      { attempt: 2, leaseUntil: minutes(3) },
    );

    // Assess
    expect(takenOver).toMatchObject({ status: 'running', attempt: 2 });
    expect((await store.get(jobId, id))?.leaseUntil).toBe(minutes(3));
  });

  it('lets exactly one of five concurrent claims through', async () => {
    // Prepare
    const execution = await queued();

    // Act
    const claims = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        store.transition(
          execution.job_id,
          execution.execution_id,
          { from: ['queued'], attempt: 1 },
          { status: 'running', leaseUntil: minutes(1), callbackTokenHash: `hash-${index}` },
        ),
      ),
    );

    // Assess
    const winners = claims.flatMap((claim, index) => (claim === null ? [] : [index]));
    expect(winners).toHaveLength(1);
    const stored = await store.get(execution.job_id, execution.execution_id);
    expect(stored?.callbackTokenHash).toBe(`hash-${winners[0]}`);
  });

  it('applies one of five concurrent terminal changes, never two', async () => {
    // Prepare
    const execution = await queued();
    const statuses = ['succeeded', 'failed', 'cancelled', 'timed_out', 'failed'] as const;

    // Act
    const results = await Promise.all(
      statuses.map((status, index) =>
        store.transition(
          execution.job_id,
          execution.execution_id,
          { from: ['queued', 'running'] },
          { status, error_message: `writer ${index}` },
        ),
      ),
    );

    // Assess
    const applied = results.filter((result) => result !== null);
    expect(applied).toHaveLength(1);
    expect((await store.get(execution.job_id, execution.execution_id))?.execution).toEqual(applied[0]);
  });
});

describe('DynamoExecutionStore listDue', () => {
  let dueTable: TestTable;
  let dueJobs: DynamoJobStore;
  let dueStore: DynamoExecutionStore;

  beforeAll(async () => {
    dueTable = await createTestTable('due');
    dueJobs = new DynamoJobStore(dueTable.documents, dueTable.tableName);
    dueStore = new DynamoExecutionStore(dueTable.documents, dueTable.tableName);
  });

  afterAll(async () => {
    await dueTable?.drop();
  });

  it('lists only non-terminal runs due before now, earliest first, up to the limit', async () => {
    // Prepare
    const job = makeJob();
    await dueJobs.create(job);
    const overdue = makeExecution(job);
    const earlier = makeExecution(job);
    const later = makeExecution(job);
    const ended = makeExecution(job);
    await dueStore.start(request(overdue, { sweepAt: minutes(-1) }));
    await dueStore.start(request(earlier, { sweepAt: minutes(-5) }));
    await dueStore.start(request(later, { sweepAt: minutes(1) }));
    await dueStore.start(request(ended, { sweepAt: minutes(-10) }));
    await dueStore.transition(job.id, ended.execution_id, { from: ['queued'] }, { status: 'cancelled' });

    // Act
    const due = await dueStore.listDue(NOW, 100);
    const limited = await dueStore.listDue(NOW, 1);
    const laterStill = await dueStore.listDue(new Date(minutes(2)), 100);

    // Assess
    expect(due).toEqual([
      { jobId: job.id, executionId: earlier.execution_id },
      { jobId: job.id, executionId: overdue.execution_id },
    ]);
    expect(limited.map((item) => item.executionId)).toEqual([earlier.execution_id]);
    expect(laterStill.map((item) => item.executionId)).toEqual([
      earlier.execution_id,
      overdue.execution_id,
      later.execution_id,
    ]);
  });

  it('moves a run by its new sweep time and drops it once terminal', async () => {
    // Prepare
    const job = makeJob();
    await dueJobs.create(job);
    const execution = makeExecution(job);
    await dueStore.start(request(execution, { sweepAt: minutes(-30) }));
    const ids = async () =>
      (await dueStore.listDue(NOW, 100))
        .filter((item) => item.jobId === job.id)
        .map((item) => item.executionId);

    // Act
    const before = await ids();
    await dueStore.transition(
      job.id,
      execution.execution_id,
      { from: ['queued'] },
      { status: 'running', sweepAt: minutes(30) },
    );
    const pushedBack = await ids();
    await dueStore.transition(
      job.id,
      execution.execution_id,
      { from: ['running'] },
      { status: 'running', sweepAt: minutes(-20) },
    );
    const dueAgain = await ids();
    await dueStore.transition(
      job.id,
      execution.execution_id,
      { from: ['running'] },
      { status: 'succeeded', sweepAt: minutes(-20) },
    );
    const afterEnd = await ids();
    const raw = await dueTable.documents.send(
      new GetCommand({
        TableName: dueTable.tableName,
        Key: { pk: `JOB#${job.id}`, sk: `EXEC#${execution.execution_id}` },
      }),
    );

    // Assess
    expect(before).toEqual([execution.execution_id]);
    expect(pushedBack).toEqual([]);
    expect(dueAgain).toEqual([execution.execution_id]);
    expect(afterEnd).toEqual([]);
    expect(raw.Item).not.toHaveProperty('gsi4pk');
    expect(raw.Item).not.toHaveProperty('gsi4sk');
  });
});
