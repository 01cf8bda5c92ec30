import { DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertKeys } from '../../shared/adapters/aws/alert-items.js';
import { DynamoAlertStore } from '../../shared/adapters/aws/dynamo-alert-store.js';
import { DynamoChannelStore } from '../../shared/adapters/aws/dynamo-channel-store.js';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { AlertService } from '../../shared/app/alert-service.js';
import { AlertWatchBackfill } from '../../shared/app/alert-watch-backfill.js';
import type { Job } from '../../shared/domain/job.js';
import { ManualClock } from '../support/memory-stores.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

let table: TestTable;
let alerts: DynamoAlertStore;
let jobs: DynamoJobStore;

beforeAll(async () => {
  table = await createTestTable('watch-backfill');
  alerts = new DynamoAlertStore(table.documents, table.tableName);
  jobs = new DynamoJobStore(table.documents, table.tableName);
});

afterAll(async () => {
  await table?.drop();
});

let counter = 0;

function job(overrides: Partial<Job> = {}): Job {
  counter++;
  return {
    id: `job_00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    name: `Tick ${counter}`,
    description: null,
    trigger_type: 'cron',
    cron_schedule: '*/5 * * * *',
    cron_timezone: 'UTC',
    planning_mode: 'on_the_fly',
    entity_type: null,
    entity_id: null,
    prompt_template: 'p',
    system_prompt: null,
    executor_type: 'auto',
    worker_queue_name: null,
    environment_name: null,
    config: {},
    execution_environment: {},
    enabled: true,
    // One second apart, so the list's order (newest first) is the order they were made in, reversed.
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, counter)).toISOString(),
    updated_at: '2026-01-01T00:00:00.000Z',
    webhook_path: null,
    ...overrides,
  };
}

/** A job as an earlier version wrote it: the job item, and no watch item. */
async function writtenBeforeAlerting(fields: Partial<Job> = {}): Promise<Job> {
  const created = job(fields);
  await jobs.create(created);
  for (const group of ['policy', 'cron'] as const) {
    await table.documents.send(
      new DeleteCommand({ TableName: table.tableName, Key: alertKeys.watch(group, created.id) }),
    );
  }
  return created;
}

async function watched(group: 'policy' | 'cron'): Promise<string[]> {
  const result = await table.documents.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `ALERT_WATCH#${group}` },
      ConsistentRead: true,
    }),
  );
  return (result.Items ?? []).map((item) => String(item.sk)).sort();
}

function alertService(): AlertService {
  return new AlertService({
    jobs,
    alerts,
    channels: new DynamoChannelStore(table.documents, table.tableName),
    executions: new DynamoExecutionStore(table.documents, table.tableName),
    clock: new ManualClock(Date.parse('2026-06-01T00:00:00.000Z')),
    logger: createLogger({ level: 'silent' }),
  });
}

describe('the watch items of cron jobs written before alerting', () => {
  it('are written by the sweep for the enabled cron jobs that have none, once', async () => {
    // Prepare
    const old = [await writtenBeforeAlerting(), await writtenBeforeAlerting()];
    const withPolicy = await writtenBeforeAlerting({ config: { alerts: { failure_threshold: 2 } } });
    const disabled = await writtenBeforeAlerting({ enabled: false });
    const manual = await writtenBeforeAlerting({ trigger_type: 'manual', cron_schedule: null });
    // Written since alerting: its own write gave it its item, which the backfill leaves as it is.
    const recent = job({ name: 'Recent' });
    await jobs.create(recent);
    const recentItem = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: alertKeys.watch('cron', recent.id) }),
    );

    // Act
    await alertService().sweep();

    // Assess
    expect(await watched('cron')).toEqual([...old.map((each) => each.id), recent.id].sort());
    expect(await watched('policy')).toEqual([withPolicy.id]);
    expect(await alerts.watchBackfill()).toEqual({ done: true, cursor: null });
    const stillRecent = await table.documents.send(
      new GetCommand({ TableName: table.tableName, Key: alertKeys.watch('cron', recent.id) }),
    );
    expect(stillRecent.Item).toEqual(recentItem.Item);
    expect(await watched('cron')).not.toContain(disabled.id);
    expect(await watched('cron')).not.toContain(manual.id);
  });

  it('runs no more once done, not even in a new process', async () => {
    // Prepare: a job that lost its item after the backfill finished.
    const late = await writtenBeforeAlerting();

    // Act
    await alertService().sweep();

    // Assess
    expect(await alerts.watchBackfill()).toMatchObject({ done: true });
    expect(await watched('cron')).not.toContain(late.id);
  });

  it('resumes where the last pass stopped when there are more jobs than a pass reads', async () => {
    // Prepare: a table of its own, whose backfill has not run; five cron jobs, read two a page, two pages a pass.
    const own = await createTestTable('watch-resume');
    try {
      const ownJobs = new DynamoJobStore(own.documents, own.tableName);
      const ownAlerts = new DynamoAlertStore(own.documents, own.tableName);
      const created: Job[] = [];
      for (let index = 0; index < 5; index++) {
        const each = job();
        await ownJobs.create(each);
        await own.documents.send(
          new DeleteCommand({ TableName: own.tableName, Key: alertKeys.watch('cron', each.id) }),
        );
        created.push(each);
      }
      const deps = { jobs: ownJobs, alerts: ownAlerts, logger: createLogger({ level: 'silent' }) };
      const options = { pageSize: 2, pagesPerPass: 2 };

      // Act
      const first = await new AlertWatchBackfill(deps, options).pass();
      const between = await ownAlerts.watchBackfill();
      // Another process (the next sweeper invocation) carries on from the stored place.
      const second = await new AlertWatchBackfill(deps, options).pass();
      const third = await new AlertWatchBackfill(deps, options).pass();

      // Assess
      expect([first, second, third]).toEqual([4, 1, 0]);
      expect(between).toEqual({ done: false, cursor: expect.any(String) });
      expect(await ownAlerts.watchBackfill()).toEqual({ done: true, cursor: null });
      expect((await ownAlerts.watchedJobs('cron')).map((each) => each.id).sort()).toEqual(
        created.map((each) => each.id).sort(),
      );
    } finally {
      await own.drop();
    }
  });
});

describe('DynamoAlertStore.watchIfUnwatched', () => {
  it('writes nothing for a job changed since it was read, nor over an item that exists', async () => {
    // Prepare
    const created = await writtenBeforeAlerting();
    const stored = await jobs.get(created.id);
    if (!stored) throw new Error('the job should exist');
    // Disabled meanwhile: its write removed nothing (there was nothing), and it must not be watched.
    await jobs.replace({ ...stored.job, enabled: false }, stored.version, stored.job);
    const unchanged = await writtenBeforeAlerting();
    const current = await jobs.get(unchanged.id);
    if (!current) throw new Error('the job should exist');

    // Act
    const stale = await alerts.watchIfUnwatched(stored.job, stored.version);
    const first = await alerts.watchIfUnwatched(current.job, current.version);
    const again = await alerts.watchIfUnwatched(current.job, current.version);

    // Assess
    expect([stale, first, again]).toEqual([false, true, false]);
    const items = await watched('cron');
    expect(items).not.toContain(created.id);
    expect(items).toContain(unchanged.id);
  });
});
