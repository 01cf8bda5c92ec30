import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEntityStore } from '../../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { ensureJobsTable, jobsTableDefinition } from '../../shared/adapters/aws/jobs-table.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds } from '../../shared/adapters/system.js';
import { cronExecutionId } from '../../shared/app/run-helpers.js';
import type { Execution } from '../../shared/domain/execution.js';
import { buildJobSpec, type Job } from '../../shared/domain/job.js';
import { makeEntity, openDeployment, RecordingQueue } from '../support/memory-stores.js';
import { services } from '../support/services.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

// Runs recorded by the previous version (in their job's partition, with the job's execution_count) keep
// working after the upgrade: read where they are until the migration moves them, moved when changed,
// and all moved by `upgrade()`, with their count, dedupe markers and overlap lock.

let table: TestTable;

beforeAll(async () => {
  table = await createTestTable('legacy');
});

afterAll(async () => {
  await table?.drop();
});

const NOW = Date.parse('2026-06-01T08:00:00.000Z');
let issued = 0;
function legacyExecution(job: Job, status: Execution['status']): Execution {
  issued++;
  const id = `exec_${(NOW + issued).toString(36).padStart(9, '0')}${issued.toString(16).padStart(20, '0')}`;
  return {
    execution_id: id,
    workflow_id: `wf_${id.slice('exec_'.length)}`,
    job_id: job.id,
    job_name: job.name,
    status,
    trigger_type: 'webhook',
    parameters: { n: issued },
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
    max_attempts: 2,
    created_at: new Date(NOW + issued).toISOString(),
    started_at: status === 'queued' ? null : new Date(NOW + issued).toISOString(),
    finished_at: status === 'succeeded' ? new Date(NOW + issued + 5).toISOString() : null,
    duration_ms: status === 'succeeded' ? 5 : null,
    deadline_at: status === 'queued' ? null : new Date(NOW + 3_600_000).toISOString(),
    error_message: null,
    output: status === 'succeeded' ? { ok: true } : null,
    output_truncated: false,
  };
}

/** Writes a job and its runs as the previous version did. */
async function legacyJob(statuses: Execution['status'][]) {
  const jobs = new DynamoJobStore(table.documents, table.tableName);
  const spec = buildJobSpec({ name: 'legacy', trigger_type: 'webhook', prompt_template: 'Do it' });
  const job: Job = {
    id: `job_${randomUUID()}`,
    ...spec,
    created_at: new Date(NOW).toISOString(),
    updated_at: new Date(NOW).toISOString(),
  };
  await jobs.create(job);
  const runs = statuses.map((status) => legacyExecution(job, status));
  for (const run of runs) {
    const terminal = run.status === 'succeeded';
    await table.documents.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          pk: `JOB#${job.id}`,
          sk: `EXEC#${run.execution_id}`,
          doc: JSON.stringify(run),
          status: run.status,
          version: 1,
          lease_until: run.status === 'running' ? new Date(NOW + 60_000).toISOString() : null,
          callback_token_hash: run.status === 'running' ? 'legacy-hash' : '',
          exclusive: false,
          expires_at: 4_000_000_000,
          ...(!terminal && {
            gsi4pk: 'SWEEP',
            gsi4sk: `${new Date(NOW).toISOString()}#${job.id}#${run.execution_id}`,
          }),
        },
      }),
    );
  }
  await table.documents.send(
    new PutCommand({
      TableName: table.tableName,
      Item: {
        pk: `JOB#${job.id}`,
        sk: 'DEDUPE#webhook:d-1',
        execution_id: runs[0]?.execution_id,
        expires_at: 4_000_000_000,
      },
    }),
  );
  // The job counted its runs on its own item, plus two already removed by retention.
  const stored = await table.documents.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: `JOB#${job.id}`, sk: 'JOB' } }),
  );
  await table.documents.send(
    new PutCommand({
      TableName: table.tableName,
      Item: { ...stored.Item, execution_count: runs.length + 2 },
    }),
  );
  return { job, runs };
}

describe('runs recorded before the upgrade', () => {
  it('are read where they are, and a change moves a run into the new layout first', async () => {
    // Prepare
    const store = new DynamoExecutionStore(table.documents, table.tableName);
    const { job, runs } = await legacyJob(['succeeded', 'running']);
    const [done, running] = runs as [Execution, Execution];

    // Act
    const read = await store.get(job.id, done.execution_id);
    const byKey = await store.findByDedupeKey(job.id, 'webhook:d-1');
    const ended = await store.transition(
      job.id,
      running.execution_id,
      { from: ['running'], attempt: 1 },
      {
        status: 'succeeded',
        finished_at: new Date(NOW + 10).toISOString(),
        leaseUntil: null,
      },
    );
    const oldItem = await table.documents.send(
      new GetCommand({
        TableName: table.tableName,
        Key: { pk: `JOB#${job.id}`, sk: `EXEC#${running.execution_id}` },
      }),
    );

    // Assess
    expect(read).toEqual({ execution: done, callbackTokenHash: '', leaseUntil: null, exclusive: false });
    expect(byKey).toEqual(done);
    expect(ended).toMatchObject({
      ok: true,
      execution: { ...running, status: 'succeeded', finished_at: new Date(NOW + 10).toISOString() },
    });
    expect(oldItem.Item).toBeUndefined();
  });

  it('are all moved by upgrade(): history, count, dedupe key and nothing left in the job partitions', async () => {
    // Prepare
    const store = new DynamoExecutionStore(table.documents, table.tableName);
    const { job, runs } = await legacyJob(['succeeded', 'succeeded', 'queued']);

    // Act
    let done = false;
    for (let round = 0; round < 5 && !done; round++) done = await store.upgrade();
    const page = await store.list(job.id, { limit: 10, offset: 0 });
    const fresh = new DynamoExecutionStore(table.documents, table.tableName);
    const replay = await fresh.start({
      execution: { ...legacyExecution(job, 'queued'), dedupe_key: 'webhook:d-1' },
      dedupeKey: 'webhook:d-1',
      exclusive: false,
      expiresAt: 4_000_000_000,
    });
    const left = await table.documents.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `JOB#${job.id}` },
      }),
    );
    const sweepIndex = await table.documents.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: 'gsi4',
        KeyConditionExpression: 'gsi4pk = :pk',
        ExpressionAttributeValues: { ':pk': 'SWEEP' },
      }),
    );

    // Assess
    expect(done).toBe(true);
    expect(page.executions).toEqual([...runs].reverse());
    expect(page.totalCount).toBe(5);
    expect(replay).toEqual({ kind: 'duplicate', execution: runs[0] });
    expect((left.Items ?? []).map((item) => item.sk).sort()).toEqual(['JOB', 'RUN_COUNT']);
    expect(left.Items?.find((item) => item.sk === 'JOB')).not.toHaveProperty('execution_count');
    expect(sweepIndex.Items).toEqual([]);
  });
});

describe('a cron fire recorded before the upgrade', () => {
  // The previous version gave a fire a random id and a marker `DEDUPE#cron:<time>` in the job's partition;
  // now the id derives from job and time, so the put of the run is the dedupe and no marker is written.
  it('delivered again before and after the migration still has its one run', async () => {
    // Prepare: a cron job and one fire of it, as the previous version recorded it.
    const cronTable = await createTestTable('legacy-cron');
    try {
      const entities = new DynamoEntityStore(cronTable.documents, cronTable.tableName);
      await entities.create(makeEntity({ id: 'echo', default: true }), null);
      const queue = new RecordingQueue();
      const build = () =>
        services({
          jobStore: new DynamoJobStore(cronTable.documents, cronTable.tableName),
          entities,
          executions: new DynamoExecutionStore(cronTable.documents, cronTable.tableName),
          queue,
          deployment: openDeployment(),
          clock: { now: () => new Date() },
          ids: randomIds,
          logger: createLogger({ level: 'silent' }),
        });
      const { jobs, runs: before } = build();
      const job = await jobs.create({
        name: 'every minute',
        trigger_type: 'cron',
        cron_schedule: '* * * * *',
        prompt_template: 'Tick',
      });
      const firedAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000).toISOString();
      const at = (ms: number) => new Date(Date.parse(firedAt) + ms).toISOString();
      const recorded: Execution = {
        ...legacyExecution(job, 'succeeded'),
        trigger_type: 'cron',
        scheduled_at: firedAt,
        dedupe_key: `cron:${firedAt}`,
        created_at: at(0),
        started_at: at(1_000),
        lateness_ms: 1_000,
        finished_at: at(2_000),
        duration_ms: 1_000,
      };
      await cronTable.documents.send(
        new PutCommand({
          TableName: cronTable.tableName,
          Item: {
            pk: `JOB#${job.id}`,
            sk: `EXEC#${recorded.execution_id}`,
            doc: JSON.stringify(recorded),
            status: recorded.status,
            version: 1,
            lease_until: null,
            callback_token_hash: '',
            exclusive: false,
            expires_at: 4_000_000_000,
          },
        }),
      );
      await cronTable.documents.send(
        new PutCommand({
          TableName: cronTable.tableName,
          Item: {
            pk: `JOB#${job.id}`,
            sk: `DEDUPE#cron:${firedAt}`,
            execution_id: recorded.execution_id,
            expires_at: 4_000_000_000,
          },
        }),
      );
      const nextFire = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();

      // Act: the fire delivered again before the migration, then after it (a new process), then a new fire.
      const early = await before.dispatchCron(job.id, firedAt);
      const store = new DynamoExecutionStore(cronTable.documents, cronTable.tableName);
      let migrated = false;
      for (let pass = 0; pass < 5 && !migrated; pass++) migrated = await store.upgrade();
      const { runs: after } = build();
      const late = await after.dispatchCron(job.id, firedAt);
      const fresh = await after.dispatchCron(job.id, nextFire);
      const history = await after.listExecutions(job.id, { limit: 10, offset: 0 });

      // Assess
      expect(early).toEqual({ kind: 'duplicate', execution: recorded });
      expect(migrated).toBe(true);
      expect(late).toEqual({ kind: 'duplicate', execution: recorded });
      expect(fresh?.kind).toBe('started');
      expect(fresh?.execution.execution_id).toBe(cronExecutionId(job.id, nextFire));
      expect(history.executions.map((run) => run.scheduled_at)).toEqual([nextFire, firedAt]);
      expect(queue.sent.map((sent) => sent.message.execution_id)).toEqual([
        cronExecutionId(job.id, nextFire),
      ]);
    } finally {
      await cronTable.drop();
    }
  });
});

describe('a local table made by the previous version', () => {
  it('gets the index it lacks when the runtime starts on it', async () => {
    // Prepare: the table as the previous version created it, without the failures index.
    const definition = jobsTableDefinition(`legacy-${randomUUID().slice(0, 8)}`);
    const previous = {
      ...definition,
      GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes?.filter(
        (index) => index.IndexName !== 'gsi5',
      ),
      AttributeDefinitions: definition.AttributeDefinitions?.filter(
        (attribute) => !attribute.AttributeName?.startsWith('gsi5'),
      ),
    };
    await table.client.send(new CreateTableCommand(previous));
    try {
      // Act
      await ensureJobsTable(table.client, previous.TableName as string);
      const described = await table.client.send(new DescribeTableCommand({ TableName: previous.TableName }));

      // Assess
      expect(described.Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual([
        'gsi1',
        'gsi2',
        'gsi3',
        'gsi4',
        'gsi5',
      ]);
    } finally {
      await table.client.send(new DeleteTableCommand({ TableName: previous.TableName }));
    }
  });
});
