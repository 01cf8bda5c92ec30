import { randomBytes, randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import type { Execution, ExecutionStatus } from '../../shared/domain/execution.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

// Reading runs back in the run model: the runs of every job newest first (a merge of the 16 run
// partitions, or of the failures index), and a job's total count (a snapshot plus the newest index keys).

let table: TestTable;
let store: DynamoExecutionStore;

beforeAll(async () => {
  table = await createTestTable('history');
  store = new DynamoExecutionStore(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.drop();
});

/** An id created `msAgo` before now, with a random tail (so its partition is random too). */
function idAt(ms: number): string {
  return `exec_${ms.toString(36).padStart(9, '0')}${randomBytes(10).toString('hex')}`;
}

function execution(jobId: string, createdAt: number, status: ExecutionStatus = 'queued'): Execution {
  const id = idAt(createdAt);
  return {
    execution_id: id,
    workflow_id: `wf_${id.slice('exec_'.length)}`,
    job_id: jobId,
    job_name: 'job',
    status,
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
    max_attempts: 1,
    created_at: new Date(createdAt).toISOString(),
    started_at: null,
    finished_at: status === 'queued' ? null : new Date(createdAt).toISOString(),
    duration_ms: null,
    deadline_at: null,
    error_message: null,
    output: null,
    output_truncated: false,
  };
}

/** Records a run with its final status, as the worker would leave it. */
async function record(run: Execution): Promise<void> {
  await store.start({
    execution: { ...run, status: 'queued', finished_at: null },
    exclusive: false,
    expiresAt: 4_000_000_000,
  });
  if (run.status !== 'queued') {
    const ended = await store.transition(
      run.job_id,
      run.execution_id,
      { from: ['queued'] },
      {
        status: run.status,
        finished_at: run.finished_at,
      },
    );
    expect(ended.ok).toBe(true);
  }
}

describe('listRecent: the runs of every job', () => {
  const base = Date.parse('2026-11-01T00:00:00.000Z');
  const statuses: ExecutionStatus[] = [
    'succeeded',
    'failed',
    'succeeded',
    'timed_out',
    'cancelled',
    'succeeded',
  ];
  const runs: Execution[] = [];

  const jobs = [`job_${randomUUID()}`, `job_${randomUUID()}`, `job_${randomUUID()}`];

  beforeAll(async () => {
    for (let index = 0; index < 60; index++) {
      runs.push(execution(jobs[index % 3] as string, base + index * 1000, statuses[index % statuses.length]));
    }
    await Promise.all(runs.map(record));
    runs.reverse(); // newest first
  });

  const ids = (executions: readonly Execution[]) => executions.map((run) => run.execution_id);

  it('pages through every job’s runs newest first, without loss or repeats, whatever their partition', async () => {
    // Act
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRecent({ limit: 7, ...(cursor && { cursor }) });
      pages.push(ids(page.executions));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && pages.length < 20);

    // Assess
    expect(pages.flat()).toEqual(ids(runs));
    expect(pages.slice(0, -1).every((page) => page.length === 7)).toBe(true);
  });

  it('keeps only the statuses asked for; failed and timed-out runs come from their own index', async () => {
    // Act
    const failures = await store.listRecent({ statuses: ['failed', 'timed_out'], limit: 100 });
    const cancelled = await store.listRecent({ statuses: ['cancelled'], limit: 100 });
    const firstFailures = await store.listRecent({ statuses: ['failed', 'timed_out'], limit: 4 });
    const rest = await store.listRecent({
      statuses: ['failed', 'timed_out'],
      limit: 100,
      cursor: firstFailures.nextCursor as string,
    });

    // Assess
    const expected = (wanted: ExecutionStatus[]) => ids(runs.filter((run) => wanted.includes(run.status)));
    expect(ids(failures.executions)).toEqual(expected(['failed', 'timed_out']));
    expect(ids(cancelled.executions)).toEqual(expected(['cancelled']));
    expect([...ids(firstFailures.executions), ...ids(rest.executions)]).toEqual(
      expected(['failed', 'timed_out']),
    );
    expect(rest.nextCursor).toBeNull();
  });

  it('stops at its read ceiling with a cursor, and the cursor picks up where it stopped', async () => {
    // Prepare
    const bounded = new DynamoExecutionStore(table.documents, table.tableName, { items: 40, queries: 40 });

    // Act
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await bounded.listRecent({ limit: 25, ...(cursor && { cursor }) });
      pages.push(ids(page.executions));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined && pages.length < 30);

    // Assess
    expect(pages.flat()).toEqual(ids(runs));
  });

  it('reads one job’s runs, in some statuses, from its history within the ceiling, the cursor going on', async () => {
    // Prepare: a ceiling of 4 items, so each request looks at 4 of the job's 20 runs at most
    const bounded = new DynamoExecutionStore(table.documents, table.tableName, { items: 4, queries: 40 });
    const jobId = jobs[0] as string;
    const walk = async (statuses?: ExecutionStatus[]) => {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await bounded.listRecent({
          jobId,
          limit: 3,
          ...(statuses && { statuses }),
          ...(cursor && { cursor }),
        });
        pages.push(ids(page.executions));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && pages.length < 30);
      return pages;
    };

    // Act
    const timedOut = await walk(['timed_out']);
    const all = await walk();

    // Assess
    const ofJob = runs.filter((run) => run.job_id === jobId);
    expect(timedOut.flat()).toEqual(ids(ofJob.filter((run) => run.status === 'timed_out')));
    expect(timedOut.flat()).toHaveLength(10);
    // Half the job's runs timed out: 4 keys a request find 2 of them, a short page with a cursor.
    expect(timedOut.slice(0, -1).every((page) => page.length === 2)).toBe(true);
    expect(all.flat()).toEqual(ids(ofJob));
  });
});

describe('count: the total of a job’s runs', () => {
  it('counts every run once, folding the settled ones into a snapshot that later reads start from', async () => {
    // Prepare: 12 runs well in the past (settled in the index), 3 just now.
    const jobId = `job_${randomUUID()}`;
    const now = Date.now();
    const old = Array.from({ length: 12 }, (_, index) => execution(jobId, now - 3_600_000 + index));
    const fresh = Array.from({ length: 3 }, (_, index) => execution(jobId, now - 1000 + index));
    await Promise.all([...old, ...fresh].map(record));

    // Act
    const first = await store.list(jobId, { limit: 1, offset: 0 });
    const snapshot = await table.documents.send(
      new GetCommand({
        TableName: table.tableName,
        Key: { pk: `JOB#${jobId}`, sk: 'RUN_COUNT' },
        ConsistentRead: true,
      }),
    );
    const second = await store.list(jobId, { limit: 1, offset: 0 });
    await record(execution(jobId, Date.now()));
    const third = await store.list(jobId, { limit: 1, offset: 0 });

    // Assess
    expect(first.totalCount).toBe(15);
    expect(snapshot.Item).toMatchObject({ count: 12 });
    expect(second.totalCount).toBe(15);
    expect(third.totalCount).toBe(16);
  });
});
