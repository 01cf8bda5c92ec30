import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { executionKey } from '../../shared/adapters/aws/execution-item.js';
import type { Execution } from '../../shared/domain/execution.js';
import type { TransitionResult } from '../../shared/ports.js';
import { recordingDocuments } from '../support/recording-documents.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

// A transition of a run the store has seen is answered only what it changed (UPDATED_NEW), merged into the
// item it remembers; each test checks that answer against what a store that never saw the run reads.

const NOW = new Date('2026-03-01T12:00:00.000Z');
const minutes = (count: number) => new Date(NOW.getTime() + count * 60_000).toISOString();
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:orders:run-1';

let issued = 0;
function executionId(): string {
  issued++;
  return `exec_${(NOW.getTime() + issued).toString(36).padStart(9, '0')}${randomUUID().replaceAll('-', '').slice(0, 20)}`;
}

function makeExecution(overrides: Partial<Execution> = {}): Execution {
  const id = executionId();
  return {
    execution_id: id,
    workflow_id: `wf_${id.slice('exec_'.length)}`,
    job_id: `job_${randomUUID()}`,
    job_name: 'deploy',
    status: 'queued',
    trigger_type: 'manual',
    parameters: { service: 'api', region: 'eu-west-1' },
    prompt: 'Summarise the deploy of service api to eu-west-1',
    system_prompt: null,
    config: { timeout: 600 },
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

let table: TestTable;
/** Reads each run as a process that never saw it would: nothing remembered. */
let fresh: DynamoExecutionStore;

beforeAll(async () => {
  table = await createTestTable('answers');
  fresh = new DynamoExecutionStore(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.drop();
});

/** A store of its own (one process), and what it asked UpdateItem to answer. */
function oneProcess() {
  const recorder = recordingDocuments(table.documents);
  const store = new DynamoExecutionStore(recorder.client, table.tableName);
  return { store, answered: () => recorder.takeUpdates().map((update) => update.ReturnValues) };
}

async function started(store: DynamoExecutionStore, execution = makeExecution()): Promise<Execution> {
  await store.start({ execution, exclusive: false, expiresAt: Math.floor(NOW.getTime() / 1000) + 86_400 });
  return execution;
}

function claim(store: DynamoExecutionStore, execution: Execution, attempt: number, hash = `hash-${attempt}`) {
  return store.claim(execution.job_id, execution.execution_id, {
    attempt,
    now: NOW,
    leaseUntil: minutes(1),
    callbackTokenHash: hash,
  });
}

/** The transition succeeded, and answered exactly what reading the run afterwards gives. */
async function expectAsRead(result: TransitionResult, execution: Execution): Promise<Execution> {
  if (!result.ok) throw new Error(`transition failed: ${JSON.stringify(result.current)}`);
  const read = await fresh.get(execution.job_id, execution.execution_id);
  expect(result.execution).toStrictEqual(read?.execution);
  // The same JSON, field order included.
  expect(Object.keys(result.execution)).toEqual(Object.keys(read?.execution ?? {}));
  return result.execution;
}

describe('DynamoExecutionStore transitions of a run it has seen', () => {
  it('answers the claim of a run it started only what it set, and a claim of one it never saw whole', async () => {
    // Prepare: one process starts two runs; another (a worker elsewhere) has seen neither.
    const { store, answered } = oneProcess();
    const elsewhere = oneProcess();
    const here = await started(store);
    const there = await started(store);
    answered();

    // Act
    const claimedHere = await claim(store, here, 1);
    const claimedThere = await claim(elsewhere.store, there, 1);

    // Assess
    expect(await expectAsRead(claimedHere, here)).toMatchObject({
      status: 'running',
      started_at: NOW.toISOString(),
    });
    expect(await expectAsRead(claimedThere, there)).toMatchObject({ status: 'running' });
    expect(answered()).toEqual(['UPDATED_NEW']);
    expect(elsewhere.answered()).toEqual(['ALL_NEW']);
  });

  it('answers a finish with output only what it changed, as ALL_NEW would have', async () => {
    // Prepare
    const { store, answered } = oneProcess();
    const execution = await started(store);
    await claim(store, execution, 1);
    const output = { echo: { prompt: execution.prompt }, note: 'deployed '.repeat(40) };

    // Act
    const ended = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 1 },
      {
        status: 'succeeded',
        output,
        output_truncated: false,
        error_message: null,
        finished_at: minutes(1),
        duration_ms: 60_000,
        leaseUntil: null,
      },
    );

    // Assess
    const answer = await expectAsRead(ended, execution);
    expect(answer).toMatchObject({ status: 'succeeded', output, started_at: NOW.toISOString() });
    expect(answered()).toEqual(['UPDATED_NEW', 'UPDATED_NEW']);
  });

  it('answers a failure as ALL_NEW would have, and writes its keys of the failed runs’ index', async () => {
    // Prepare
    const { store, answered } = oneProcess();
    const execution = await started(store);
    await claim(store, execution, 1);

    // Act
    const failed = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 1 },
      {
        status: 'failed',
        error_message: 'Target answered 500.',
        target_execution_arn: ARN,
        finished_at: minutes(2),
        duration_ms: 120_000,
        leaseUntil: null,
      },
    );

    // Assess
    const answer = await expectAsRead(failed, execution);
    expect(answer).toMatchObject({ status: 'failed', target_execution_arn: ARN });
    expect(answered()).toEqual(['UPDATED_NEW', 'UPDATED_NEW']);
    const raw = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: executionKey(execution.execution_id) }),
    );
    expect(raw.Item).toMatchObject({ gsi5sk: execution.execution_id, st: 'failed' });
    expect(raw.Item).not.toHaveProperty('ls');
  });

  it('answers a retry back to queued (which removes the lease and token), then a cancel of it, as ALL_NEW would have', async () => {
    // Prepare
    const { store, answered } = oneProcess();
    const execution = await started(store);
    await claim(store, execution, 1);

    // Act
    const retried = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 1 },
      {
        status: 'queued',
        attempt: 2,
        error_message: 'Target answered 503.',
        leaseUntil: null,
        callbackTokenHash: '',
      },
    );
    const retriedAnswer = await expectAsRead(retried, execution);
    // The cancel starts from the item merged from the retry's answer.
    const cancelled = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['queued', 'running'] },
      { status: 'cancelled', finished_at: minutes(3), duration_ms: 180_000 },
    );

    // Assess
    expect(retriedAnswer).toMatchObject({
      status: 'queued',
      attempt: 2,
      error_message: 'Target answered 503.',
    });
    const answer = await expectAsRead(cancelled, execution);
    expect(answer).toMatchObject({ status: 'cancelled', attempt: 2, started_at: NOW.toISOString() });
    expect(answered()).toEqual(['UPDATED_NEW', 'UPDATED_NEW', 'UPDATED_NEW']);
    expect(await fresh.get(execution.job_id, execution.execution_id)).toMatchObject({
      callbackTokenHash: '',
      leaseUntil: null,
    });
  });

  it('answers a cancel from the API, which reads the run first, as ALL_NEW would have', async () => {
    // Prepare
    const worker = oneProcess();
    const api = oneProcess();
    const execution = await started(worker.store);
    await claim(worker.store, execution, 1);
    await api.store.get(execution.job_id, execution.execution_id);

    // Act
    const cancelled = await api.store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['queued', 'running'] },
      { status: 'cancelled', finished_at: minutes(1), duration_ms: 60_000 },
    );

    // Assess
    const answer = await expectAsRead(cancelled, execution);
    expect(answer).toMatchObject({ status: 'cancelled', deadline_at: minutes(10) });
    expect(api.answered()).toEqual(['UPDATED_NEW']);
  });

  it('answers a takeover, and the finish of the attempt it took, as ALL_NEW would have', async () => {
    // Prepare
    const { store, answered } = oneProcess();
    const execution = await started(store);
    await claim(store, execution, 1);

    // Act
    const taken = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 1, leaseExpiredBefore: minutes(2) },
      { attempt: 2, leaseUntil: minutes(3), callbackTokenHash: 'hash-2' },
    );
    const takenAnswer = await expectAsRead(taken, execution);
    const ended = await store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 2 },
      { status: 'timed_out', error_message: 'No result.', finished_at: minutes(4), leaseUntil: null },
    );

    // Assess
    expect(takenAnswer).toMatchObject({ status: 'running', attempt: 2 });
    expect(await expectAsRead(ended, execution)).toMatchObject({ status: 'timed_out', attempt: 2 });
    expect(answered()).toEqual(['UPDATED_NEW', 'UPDATED_NEW', 'UPDATED_NEW']);
  });

  it('asks for the whole item when another process wrote the run since: its change is in the answer', async () => {
    // Prepare: the worker claimed the run; another process then recorded the target's execution, which
    // the worker's finish neither sets nor has in the item it remembers.
    const worker = oneProcess();
    const other = oneProcess();
    const execution = await started(worker.store);
    await claim(worker.store, execution, 1);
    await other.store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 1 },
      { target_execution_arn: ARN, leaseUntil: minutes(2) },
    );

    // Act
    const ended = await worker.store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 1 },
      { status: 'succeeded', output: { ok: true }, finished_at: minutes(3), leaseUntil: null },
    );

    // Assess
    expect(await expectAsRead(ended, execution)).toMatchObject({
      status: 'succeeded',
      target_execution_arn: ARN,
    });
    // The other process had not seen the run: ALL_NEW. The worker's first write, bound to the item it
    // had seen, failed; the second asked for the whole item.
    expect(other.answered()).toEqual(['ALL_NEW']);
    expect(worker.answered()).toEqual(['UPDATED_NEW', 'UPDATED_NEW', 'ALL_NEW']);
  });

  it('answers how the run stands when another process ended it since', async () => {
    // Prepare
    const worker = oneProcess();
    const api = oneProcess();
    const execution = await started(worker.store);
    await claim(worker.store, execution, 1);
    await api.store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['queued', 'running'] },
      { status: 'cancelled', finished_at: minutes(1) },
    );

    // Act
    const ended = await worker.store.transition(
      execution.job_id,
      execution.execution_id,
      { from: ['running'], attempt: 1 },
      { status: 'succeeded', output: { ok: true }, finished_at: minutes(2), leaseUntil: null },
    );

    // Assess
    const read = await fresh.get(execution.job_id, execution.execution_id);
    expect(ended).toEqual({ ok: false, current: read });
    expect(read?.execution.status).toBe('cancelled');
  });
});
