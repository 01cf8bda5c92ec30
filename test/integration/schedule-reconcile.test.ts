import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEntityStore } from '../../shared/adapters/aws/dynamo-entity-store.js';
import { DynamoExecutionStore } from '../../shared/adapters/aws/dynamo-execution-store.js';
import { DynamoJobStore } from '../../shared/adapters/aws/dynamo-job-store.js';
import { createLogger } from '../../shared/adapters/logger.js';
import { randomIds } from '../../shared/adapters/system.js';
import type { JobService } from '../../shared/app/job-service.js';
import { ScheduleSync } from '../../shared/app/schedule-sync.js';
import { MemoryScheduler, makeEntity, openDeployment, RecordingQueue } from '../support/memory-stores.js';
import { services } from '../support/services.js';
import { createTestTable, type TestTable } from '../support/test-table.js';

/** Job writes and reconciliation over the DynamoDB job store (its versions and trigger-type index). */
describe('schedule reconciliation on DynamoDB', () => {
  let table: TestTable;
  let jobs: JobService;
  let reconciler: ScheduleSync;
  const scheduler = new MemoryScheduler();

  beforeAll(async () => {
    table = await createTestTable('schedules');
    const entities = new DynamoEntityStore(table.documents, table.tableName);
    await entities.create(makeEntity({ id: 'echo', default: true }), null);
    const jobStore = new DynamoJobStore(table.documents, table.tableName);
    const logger = createLogger({ level: 'silent' });
    ({ jobs } = services({
      jobStore,
      scheduler,
      entities,
      executions: new DynamoExecutionStore(table.documents, table.tableName),
      queue: new RecordingQueue(),
      deployment: openDeployment(),
      clock: { now: () => new Date() },
      ids: randomIds,
      logger,
    }));
    reconciler = new ScheduleSync({ jobs: jobStore, scheduler, logger });
  });

  afterAll(async () => {
    await table?.drop();
  });

  it('repairs every difference a Scheduler outage left, across pages of the cron index, and only those', async () => {
    // Prepare
    const cron = (name: string, cron_schedule = '0 9 * * *') =>
      jobs.create({ name, trigger_type: 'cron', cron_schedule, prompt_template: 'Report' });
    const kept = await cron('kept');
    const toDelete = await cron('deleted during the outage');
    const toDisable = await cron('disabled during the outage');
    await jobs.create({ name: 'manual', trigger_type: 'manual', prompt_template: 'x' });
    scheduler.failure = new Error('ServiceUnavailableException');
    const created = [];
    for (let index = 0; index < 105; index++) created.push(await cron(`created ${index}`, '*/5 * * * *'));
    await jobs.delete(toDelete.id);
    await jobs.setEnabled(toDisable.id, false);
    await jobs.update(kept.id, { name: 'renamed: no schedule change' });
    scheduler.failure = null;
    scheduler.calls.length = 0;

    // Act
    const report = await reconciler.reconcile();
    const again = await reconciler.reconcile();

    // Assess
    expect(report).toEqual({ checked: 107, repaired: 106, removed: 1, failed: 0 });
    expect(again).toEqual({ checked: 107, repaired: 0, removed: 0, failed: 0 });
    expect(scheduler.schedules.size).toBe(107);
    expect(scheduler.schedules.has(toDelete.id)).toBe(false);
    expect(scheduler.schedules.get(toDisable.id)?.enabled).toBe(false);
    for (const job of created) {
      expect(scheduler.schedules.get(job.id)?.expressions).toEqual(['cron(0/5 * * * ? *)']);
    }
    expect(scheduler.calls.filter((call) => call.jobId === kept.id)).toEqual([]);
  });
});
