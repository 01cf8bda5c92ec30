import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { BadRequestError } from '../../shared/domain/errors.js';
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
  const running = await store.claim(execution.job_id, execution.execution_id, {
    attempt: 1,
    now: NOW,
    leaseUntil: minutes(5),
    callbackTokenHash: 'hash',
  });
  expect(running.ok).toBe(true);
  const ended = await store.transition(
    execution.job_id,
    execution.execution_id,
    { from: ['running'] },
    { status, finished_at: minutes(1), leaseUntil: null },
  );
  expect(ended.ok && ended.execution.status).toBe(status);
}

async function lockHolder(jobId: string): Promise<unknown> {
  const lock = await table.documents.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: `LOCK#${jobId}`, sk: 'LOCK' } }),
  );
  return lock.Item?.holder;
}

describe('DynamoExecutionStore start', () => {
  it('puts runs with a fresh id with no condition, those started together as one BatchWriteItem', async () => {
    // Prepare: a store on a client of its own, whose requests are counted.
    const own = new DynamoDBClient({
      endpoint: inject('dynamodbEndpoint'),
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const documents = DynamoDBDocumentClient.from(own);
    const sent: { command: string; condition: boolean }[] = [];
    documents.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ConditionExpression?: string };
        sent.push({
          command: String(context.commandName),
          condition: input.ConditionExpression !== undefined,
        });
        return next(args);
      },
      { step: 'build', name: 'recordPuts' },
    );
    const counted = new DynamoExecutionStore(documents, table.tableName);
    const job = await storedJob();
    const executions = Array.from({ length: 6 }, () => makeExecution(job));

    // Act
    const outcomes = await Promise.all(executions.map((execution) => counted.start(request(execution))));
    own.destroy();
    const stored = await Promise.all(
      executions.map((execution) => store.get(job.id, execution.execution_id)),
    );

    // Assess
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(executions.map(() => 'started'));
    expect(stored.map((each) => each?.execution)).toEqual(executions);
    expect(sent).toEqual([
      { command: 'PutItemCommand', condition: false },
      { command: 'BatchWriteItemCommand', condition: false },
    ]);
  });

  it('writes the execution as queued, one item in a run partition with its history index keys', async () => {
    // Prepare
    const job = await storedJob();
    const execution = makeExecution(job);

    // Act
    const outcome = await store.start(request(execution));
    const stored = await store.get(job.id, execution.execution_id);
    const page = await store.list(job.id, { limit: 10, offset: 0 });
    const raw = await table.documents.send(
      new GetCommand({
        TableName: table.tableName,
        Key: { pk: `RUN#${execution.execution_id.at(-1)}`, sk: `EXEC#${execution.execution_id}` },
      }),
    );

    // Assess
    expect(outcome).toEqual({ kind: 'started', execution });
    expect(stored).toEqual({ execution, callbackTokenHash: '', leaseUntil: null, exclusive: false });
    expect(page.totalCount).toBe(1);
    expect(page.executions).toEqual([execution]);
    expect(raw.Item).toMatchObject({ gsi4pk: `JOB#${job.id}`, gsi4sk: execution.execution_id, st: 'queued' });
    expect(raw.Item?.doc).toBeInstanceOf(Uint8Array);
    // The job item is not touched by a run: a larger job costs its runs nothing.
    expect(await jobs.get(job.id)).toEqual({ job, version: 1 });
  });

  it('answers null for an execution asked for under another job', async () => {
    // Prepare
    const job = await storedJob();
    const execution = makeExecution(job);
    await store.start(request(execution));

    // Act
    const other = await store.get((await storedJob()).id, execution.execution_id);

    // Assess
    expect(other).toBeNull();
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

  it('writes the run of a key whose first writer stopped after the marker, under the marker’s id, once', async () => {
    // Prepare: a marker naming a run that was never written (its process died between the two writes).
    const job = await storedJob();
    const lostId = executionId();
    await table.documents.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          pk: `DEDUPE#${job.id}#webhook:d-9`,
          sk: 'DEDUPE',
          execution_id: lostId,
          expires_at: 4_000_000_000,
        },
      }),
    );

    // Act: the sender retries the delivery, twice at once.
    const outcomes = await Promise.all(
      [makeExecution(job), makeExecution(job)].map((execution) =>
        store.start(request(execution, { dedupeKey: 'webhook:d-9' })),
      ),
    );

    // Assess
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['duplicate', 'started']);
    for (const outcome of outcomes) {
      expect(outcome.execution.execution_id).toBe(lostId);
      expect(outcome.execution.workflow_id).toBe(`wf_${lostId.slice('exec_'.length)}`);
    }
    expect((await store.list(job.id, { limit: 10, offset: 0 })).totalCount).toBe(1);
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

    // Assess
    const skipped = { ...overlapping, status: 'skipped', finished_at: overlapping.created_at };
    expect(outcome).toEqual({ kind: 'skipped', execution: skipped });
    expect(stored).toEqual({ execution: skipped, callbackTokenHash: '', leaseUntil: null, exclusive: false });
    expect(await lockHolder(job.id)).toBe(active.execution_id);
    expect((await store.list(job.id, { limit: 10, offset: 0 })).totalCount).toBe(2);
  });

  it('lets the next exclusive run take the lock over from one that ended, with no release write', async () => {
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

  it('starts exactly one of several concurrent exclusive runs and skips the others', async () => {
    // Prepare
    const job = await storedJob();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, () => store.start(request(makeExecution(job), { exclusive: true }))),
    );

    // Assess
    expect(outcomes.filter((outcome) => outcome.kind === 'started')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.kind === 'skipped')).toHaveLength(3);
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

  it('takes over a lock naming a run that no longer exists', async () => {
    // Prepare
    const job = await storedJob();
    await table.documents.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { pk: `LOCK#${job.id}`, sk: 'LOCK', holder: executionId() },
      }),
    );
    const next = makeExecution(job);

    // Act
    const outcome = await store.start(request(next, { exclusive: true }));

    // Assess
    expect(outcome.kind).toBe('started');
    expect(await lockHolder(job.id)).toBe(next.execution_id);
  });

  it('leaves a lock to a holder not written yet until a minute after it was taken', async () => {
    // Prepare: the lock of a start that has not written its run yet (or stopped before it did).
    const job = await storedJob();
    const holder = executionId();
    await table.documents.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { pk: `LOCK#${job.id}`, sk: 'LOCK', holder, at: '2027-01-01T00:00:00.000Z' },
      }),
    );
    const soon = makeExecution(job, { created_at: '2027-01-01T00:00:59.000Z' });
    const later = makeExecution(job, { created_at: '2027-01-01T00:01:00.000Z' });

    // Act
    const first = await store.start(request(soon, { exclusive: true }));
    const holderAfterFirst = await lockHolder(job.id);
    const second = await store.start(request(later, { exclusive: true }));

    // Assess
    expect(first.kind).toBe('skipped');
    expect(holderAfterFirst).toBe(holder);
    expect(second.kind).toBe('started');
    expect(await lockHolder(job.id)).toBe(later.execution_id);
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
    // Every query reads the keys-only history index; whole items are read by key for the page alone.
    const history = queries.filter(
      (query) => query.input.IndexName === 'gsi4' && query.input.Select !== 'COUNT',
    );
    expect(history.map((query) => query.input.KeyConditionExpression)).toEqual(['#pk = :pk', '#pk = :pk']);
    expect(history.reduce((sum, query) => sum + query.returned, 0)).toBe(7);
    expect(recorder.itemsGot()).toBe(2);
    for (const query of history) expect(query.input.Limit).toBeLessThanOrEqual(4);
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
        // The count of the job's runs reads on its own (a few keys-only pages), outside the list's ceiling.
        const queries = recorder.take().filter((query) => query.input.Select !== 'COUNT');
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

describe('DynamoExecutionStore claim and transition', () => {
  async function queued(overrides: Partial<Execution> = {}): Promise<Execution> {
    const job = await storedJob();
    const execution = makeExecution(job, overrides);
    await store.start(request(execution));
    return execution;
  }
  const claimAt = (execution: Execution, attempt: number, hash = 'hash-1') =>
    store.claim(execution.job_id, execution.execution_id, {
      attempt,
      now: NOW,
      leaseUntil: minutes(1),
      callbackTokenHash: hash,
    });

  it('claims a queued run in one write: running, its lease and token, started now, deadline from its timeout', async () => {
    // Prepare
    const execution = await queued({ config: { timeout: 600 } });

    // Act
    const claimed = await claimAt(execution, 1);

    // Assess
    const expected = {
      ...execution,
      status: 'running',
      started_at: NOW.toISOString(),
      deadline_at: minutes(10),
    };
    expect(claimed).toEqual({ ok: true, execution: expected });
    expect(await store.get(execution.job_id, execution.execution_id)).toEqual({
      execution: expected,
      callbackTokenHash: 'hash-1',
      leaseUntil: minutes(1),
      exclusive: false,
    });
  });

  it('answers how the run stands when a claim finds it claimed, at another attempt, or gone', async () => {
    // Prepare
    const execution = await queued();
    await claimAt(execution, 1);

    // Act
    const again = await claimAt(execution, 1, 'hash-2');
    const otherAttempt = await claimAt(execution, 2, 'hash-3');
    const gone = await store.claim(execution.job_id, executionId(), {
      attempt: 1,
      now: NOW,
      leaseUntil: minutes(1),
      callbackTokenHash: 'x',
    });

    // Assess
    expect(again).toMatchObject({
      ok: false,
      current: { execution: { status: 'running' }, callbackTokenHash: 'hash-1' },
    });
    expect(otherAttempt).toMatchObject({
      ok: false,
      current: { execution: { status: 'running', attempt: 1 } },
    });
    expect(gone).toEqual({ ok: false, current: null });
  });

  it('records a cron run’s lateness from its fire time to its claim', async () => {
    // Prepare
    const execution = await queued({
      trigger_type: 'cron',
      scheduled_at: new Date(NOW.getTime() - 4_250).toISOString(),
    });

    // Act
    const claimed = await claimAt(execution, 1);

    // Assess
    expect(claimed.ok && claimed.execution.lateness_ms).toBe(4_250);
  });

  it('keeps a retry’s start and deadline: only the first claim sets them', async () => {
    // Prepare
    const execution = await queued({ config: { timeout: 600 } });
    await claimAt(execution, 1);
    await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'] },
      { status: 'queued', attempt: 2 },
    );

    // Act
    const retried = await store.claim(execution.job_id, execution.execution_id, {
      attempt: 2,
      now: new Date(minutes(3)),
      leaseUntil: minutes(4),
      callbackTokenHash: 'hash-2',
    });

    // Assess
    expect(retried).toMatchObject({
      ok: true,
      execution: { status: 'running', attempt: 2, started_at: NOW.toISOString(), deadline_at: minutes(10) },
    });
  });

  it('fails a change whose status, attempt or lease condition does not hold, answering the run as it stands', async () => {
    // Prepare
    const execution = await queued();
    const { job_id: jobId, execution_id: id } = execution;
    await claimAt(execution, 1);
    await store.transition(jobId, id, { from: ['running'] }, { leaseUntil: minutes(10) });

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
    const wrongJob = await store.transition(
      (await storedJob()).id,
      id,
      { from: ['running'] },
      { status: 'failed' },
    );

    // Assess
    for (const result of [wrongStatus, wrongAttempt, leaseHeld]) {
      expect(result).toMatchObject({
        ok: false,
        current: { execution: { status: 'running', attempt: 1 }, leaseUntil: minutes(10) },
      });
    }
    expect(wrongJob).toEqual({ ok: false, current: null });
    expect(await store.get(jobId, id)).toMatchObject({
      execution: { status: 'running', attempt: 1 },
      leaseUntil: minutes(10),
    });
  });

  it('lets a takeover through once the lease has ended', async () => {
    // Prepare
    const execution = await queued();
    const { job_id: jobId, execution_id: id } = execution;
    await claimAt(execution, 1);

    // Act
    const takenOver = await store.transition(
      jobId,
      id,
      { from: ['running'], attempt: 1, leaseExpiredBefore: minutes(2) },
      { attempt: 2, leaseUntil: minutes(3) },
    );

    // Assess
    expect(takenOver).toMatchObject({ ok: true, execution: { status: 'running', attempt: 2 } });
    expect((await store.get(jobId, id))?.leaseUntil).toBe(minutes(3));
  });

  it('lets exactly one of five concurrent claims through', async () => {
    // Prepare
    const execution = await queued();

    // Act
    const claims = await Promise.all(
      Array.from({ length: 5 }, (_, index) => claimAt(execution, 1, `hash-${index}`)),
    );

    // Assess
    const winners = claims.flatMap((claim, index) => (claim.ok ? [index] : []));
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
    const applied = results.flatMap((result) => (result.ok ? [result.execution] : []));
    expect(applied).toHaveLength(1);
    expect((await store.get(execution.job_id, execution.execution_id))?.execution).toEqual(applied[0]);
  });

  it('keeps an output, packed, and clears fields set to null', async () => {
    // Prepare
    const execution = await queued({
      prompt: 'Summarise the deploy of service api to eu-west-1',
      parameters: { service: 'api' },
    });
    await claimAt(execution, 1);
    const output = {
      echo: { prompt: execution.prompt, parameters: execution.parameters },
      note: 'x'.repeat(300),
    };

    // Act
    const ended = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'] },
      {
        status: 'succeeded',
        output,
        error_message: null,
        leaseUntil: null,
        finished_at: minutes(1),
        duration_ms: 60_000,
      },
    );

    // Assess
    expect(ended).toMatchObject({
      ok: true,
      execution: { status: 'succeeded', output, error_message: null },
    });
    expect(await store.get(execution.job_id, execution.execution_id)).toMatchObject({
      execution: { output, finished_at: minutes(1), duration_ms: 60_000 },
      leaseUntil: null,
    });
  });
});

describe('DynamoExecutionStore findUnsent', () => {
  it('finds the runs of a window still queued for their first attempt, once each, and keeps a checkpoint', async () => {
    // Prepare: its own table, so no other test's runs fall in the window.
    const own = await createTestTable('unsent');
    try {
      const ownJobs = new DynamoJobStore(own.documents, own.tableName);
      const ownStore = new DynamoExecutionStore(own.documents, own.tableName);
      const job = makeJob();
      await ownJobs.create(job);
      const at = (ms: number) =>
        `exec_${ms.toString(36).padStart(9, '0')}${randomUUID().replaceAll('-', '').slice(0, 20)}`;
      const before = makeExecution(job, { execution_id: at(NOW.getTime() - 1) });
      const inside = [0, 1, 2].map((index) =>
        makeExecution(job, { execution_id: at(NOW.getTime() + index * 1000) }),
      );
      const claimed = makeExecution(job, { execution_id: at(NOW.getTime() + 3000) });
      const after = makeExecution(job, { execution_id: at(NOW.getTime() + 60_000) });
      for (const execution of [before, ...inside, claimed, after]) await ownStore.start(request(execution));
      await ownStore.claim(job.id, claimed.execution_id, {
        attempt: 1,
        now: NOW,
        leaseUntil: minutes(1),
        callbackTokenHash: 'h',
      });

      // Act
      const found = await ownStore.findUnsent({ from: NOW, to: new Date(NOW.getTime() + 60_000) });
      const initial = await ownStore.sweepCheckpoint();
      await ownStore.saveSweepCheckpoint(found.scannedTo);

      // Assess
      expect(found.executions.map((execution) => execution.execution_id).sort()).toEqual(
        inside.map((execution) => execution.execution_id).sort(),
      );
      expect(found.scannedTo).toEqual(new Date(NOW.getTime() + 60_000));
      expect(initial).toBeNull();
      expect(await ownStore.sweepCheckpoint()).toEqual(found.scannedTo);
    } finally {
      await own.drop();
    }
  });
});
