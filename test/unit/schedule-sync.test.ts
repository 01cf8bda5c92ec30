import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { createMetrics, type EmfOutput } from '../../shared/adapters/metrics.js';
import { ScheduleSync } from '../../shared/app/schedule-sync.js';
import type { JobCreateInput } from '../../shared/domain/job.js';
import type { JobSchedule } from '../../shared/ports.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  MemoryScheduler,
  makeEntity,
  openDeployment,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { services } from '../support/services.js';

const START = Date.parse('2027-03-01T08:00:00.000Z');

/** The job service over in-memory stores with a MemoryScheduler, and reconciliation over the same. */
async function setup(scheduler = new MemoryScheduler()) {
  const clock = new ManualClock(START);
  const ids = sequentialIds(clock);
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  const jobStore = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  const metricDocuments: EmfOutput[] = [];
  const { jobs } = services({
    jobStore,
    scheduler,
    metrics: createMetrics({ logger, emit: (emf) => metricDocuments.push(emf) }),
    entities,
    executions,
    queue: new RecordingQueue(),
    deployment: openDeployment(),
    clock,
    ids,
    logger,
  });
  const createCron = (body: Partial<JobCreateInput> = {}) =>
    jobs.create({
      name: 'report',
      trigger_type: 'cron',
      cron_schedule: '0 9 * * *',
      prompt_template: 'Write the report',
      ...body,
    });
  return {
    jobs,
    jobStore,
    scheduler,
    createCron,
    reconciler: new ScheduleSync({ jobs: jobStore, scheduler, logger }),
    logEntries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    metricDocuments,
  };
}

const expectedSchedule = (jobId: string, overrides: Partial<JobSchedule> = {}): JobSchedule => ({
  jobId,
  cron: '0 9 * * *',
  expressions: ['cron(0 9 * * ? *)'],
  timezone: 'UTC',
  enabled: true,
  catchup: 'none',
  ...overrides,
});

describe('job schedules follow the job', () => {
  it('creates an enabled schedule for a new cron job, in its zone, with its catch-up policy', async () => {
    // Prepare
    const { createCron, scheduler } = await setup();

    // Act
    const job = await createCron({ cron_timezone: 'Europe/London', config: { catchup: 'latest' } });

    // Assess
    expect(scheduler.schedules.get(job.id)).toEqual(
      expectedSchedule(job.id, { timezone: 'Europe/London', catchup: 'latest' }),
    );
  });

  it('gives a job whose day fields are both restricted one schedule per expression', async () => {
    // Prepare
    const { createCron, scheduler } = await setup();

    // Act
    const job = await createCron({ cron_schedule: '0 9 1 * 1' });

    // Assess
    expect(scheduler.schedules.get(job.id)?.expressions).toEqual(['cron(0 9 1 * ? *)', 'cron(0 9 ? * 2 *)']);
  });

  it('never calls the Scheduler for manual or webhook jobs', async () => {
    // Prepare
    const { jobs, scheduler } = await setup();

    // Act
    const manual = await jobs.create({ name: 'm', trigger_type: 'manual', prompt_template: 'x' });
    await jobs.update(manual.id, { name: 'renamed' });
    await jobs.setEnabled(manual.id, false);
    const hook = await jobs.create({ name: 'w', trigger_type: 'webhook', prompt_template: 'x' });
    await jobs.delete(hook.id);
    await jobs.delete(manual.id);

    // Assess
    expect(scheduler.calls).toEqual([]);
  });

  it('updates the schedule in place when the expression or zone changes, and not for other changes', async () => {
    // Prepare
    const { jobs, createCron, scheduler } = await setup();
    const job = await createCron();
    scheduler.calls.length = 0;

    // Act
    await jobs.update(job.id, { name: 'renamed', description: 'no schedule change' });
    const untouched = [...scheduler.calls];
    await jobs.update(job.id, { cron_schedule: '0 10 * * *', cron_timezone: 'America/New_York' });

    // Assess
    expect(untouched).toEqual([]);
    expect(scheduler.calls).toEqual([{ op: 'put', jobId: job.id }]);
    expect(scheduler.schedules.get(job.id)).toEqual(
      expectedSchedule(job.id, {
        cron: '0 10 * * *',
        expressions: ['cron(0 10 * * ? *)'],
        timezone: 'America/New_York',
      }),
    );
  });

  it('disables and enables the schedule with the job, and repairs it on a repeated enable', async () => {
    // Prepare
    const { jobs, createCron, scheduler } = await setup();
    const job = await createCron();

    // Act
    await jobs.setEnabled(job.id, false);
    const disabled = scheduler.schedules.get(job.id)?.enabled;
    await jobs.setEnabled(job.id, true);
    scheduler.schedules.delete(job.id);
    await jobs.setEnabled(job.id, true);

    // Assess
    expect(disabled).toBe(false);
    expect(scheduler.schedules.get(job.id)).toEqual(expectedSchedule(job.id));
  });

  it('creates a disabled schedule for a job created disabled', async () => {
    // Prepare
    const { createCron, scheduler } = await setup();

    // Act
    const job = await createCron({ enabled: false });

    // Assess
    expect(scheduler.schedules.get(job.id)).toEqual(expectedSchedule(job.id, { enabled: false }));
  });

  it('removes the schedule when the job is deleted or stops being a cron job, and adds one when it becomes one', async () => {
    // Prepare
    const { jobs, createCron, scheduler } = await setup();
    const deleted = await createCron();
    const changed = await createCron();
    const becomes = await jobs.create({ name: 'm', trigger_type: 'manual', prompt_template: 'x' });

    // Act
    await jobs.delete(deleted.id);
    await jobs.update(changed.id, { trigger_type: 'manual', cron_schedule: null });
    await jobs.update(becomes.id, { trigger_type: 'cron', cron_schedule: '*/15 * * * *' });

    // Assess
    expect([...scheduler.schedules.keys()]).toEqual([becomes.id]);
    expect(scheduler.schedules.get(becomes.id)?.expressions).toEqual(['cron(0/15 * * * ? *)']);
  });

  it('keeps the job written when the Scheduler fails, logs it as a metric, and reconciliation repairs it', async () => {
    // Prepare
    const { jobs, createCron, scheduler, reconciler, logEntries, metricDocuments } = await setup();
    scheduler.failure = new Error('ThrottlingException: Rate exceeded');

    // Act
    const job = await createCron();
    const stored = await jobs.get(job.id);
    const missing = scheduler.schedules.has(job.id);
    scheduler.failure = null;
    const report = await reconciler.reconcile();

    // Assess
    expect(stored).toMatchObject({ id: job.id, cron_schedule: '0 9 * * *' });
    expect(missing).toBe(false);
    expect(
      logEntries().find((entry) => String(entry.message).startsWith('schedule sync failed')),
    ).toMatchObject({ level: 'error', job_id: job.id });
    expect(metricDocuments).toHaveLength(1);
    expect(metricDocuments[0]).toMatchObject({
      ScheduleSyncFailed: 1,
      _aws: {
        CloudWatchMetrics: [{ Namespace: 'ServerlessJobs', Metrics: [{ Name: 'ScheduleSyncFailed' }] }],
      },
    });
    expect(report).toEqual({ checked: 1, repaired: 1, removed: 0, failed: 0 });
    expect(scheduler.schedules.get(job.id)).toEqual(expectedSchedule(job.id));
  });

  it('ends on the latest job when a concurrent update’s schedule write lands first', async () => {
    // Prepare
    const scheduler = new MemoryScheduler();
    const { jobs, createCron } = await setup(scheduler);
    const job = await createCron();
    // The next put (for 10:00) is overtaken: before it lands, another update to 11:00 completes entirely.
    const put = scheduler.put.bind(scheduler);
    let overtaken = false;
    scheduler.put = async (schedule) => {
      if (!overtaken && schedule.cron === '0 10 * * *') {
        overtaken = true;
        await jobs.update(job.id, { cron_schedule: '0 11 * * *' });
      }
      await put(schedule);
    };

    // Act
    await jobs.update(job.id, { cron_schedule: '0 10 * * *' });

    // Assess
    expect(overtaken).toBe(true);
    expect(scheduler.schedules.get(job.id)?.cron).toBe('0 11 * * *');
    expect((await jobs.get(job.id)).cron_schedule).toBe('0 11 * * *');
  });
});

describe('ScheduleSync.reconcile', () => {
  it('after a Scheduler outage, creates missing schedules, corrects changed ones and deletes orphans', async () => {
    // Prepare
    const { jobs, createCron, scheduler, reconciler } = await setup();
    const unchanged = await createCron({ name: 'unchanged' });
    const changed = await createCron({ name: 'changed' });
    const disabled = await createCron({ name: 'disabled' });
    const deleted = await createCron({ name: 'deleted' });
    const manual = await jobs.create({ name: 'manual', trigger_type: 'manual', prompt_template: 'x' });
    scheduler.failure = new Error('ServiceUnavailable');
    const created = await createCron({ name: 'created during the outage' });
    await jobs.update(changed.id, { cron_schedule: '30 7 * * 1-5' });
    await jobs.setEnabled(disabled.id, false);
    await jobs.delete(deleted.id);
    scheduler.failure = null;
    scheduler.calls.length = 0;

    // Act
    const report = await reconciler.reconcile();
    const again = await reconciler.reconcile();

    // Assess
    expect(report).toEqual({ checked: 4, repaired: 3, removed: 1, failed: 0 });
    expect(again).toEqual({ checked: 4, repaired: 0, removed: 0, failed: 0 });
    expect(scheduler.schedules.get(unchanged.id)).toEqual(expectedSchedule(unchanged.id));
    expect(scheduler.schedules.get(created.id)).toEqual(expectedSchedule(created.id));
    expect(scheduler.schedules.get(changed.id)).toEqual(
      expectedSchedule(changed.id, { cron: '30 7 * * 1-5', expressions: ['cron(30 7 ? * 2-6 *)'] }),
    );
    expect(scheduler.schedules.get(disabled.id)?.enabled).toBe(false);
    expect(scheduler.schedules.has(deleted.id)).toBe(false);
    expect(scheduler.schedules.has(manual.id)).toBe(false);
    // The unchanged job's schedule was left alone: no write for it.
    expect(scheduler.calls.filter((call) => call.jobId === unchanged.id)).toEqual([]);
  });

  it('pages through many cron jobs', async () => {
    // Prepare
    const { createCron, scheduler, reconciler } = await setup();
    scheduler.failure = new Error('down');
    const created = [];
    for (let index = 0; index < 130; index++) created.push(await createCron({ name: `job ${index}` }));
    scheduler.failure = null;

    // Act
    const report = await reconciler.reconcile();

    // Assess
    expect(report).toEqual({ checked: 130, repaired: 130, removed: 0, failed: 0 });
    expect(scheduler.schedules.size).toBe(130);
  });

  it('counts a repair that fails and still repairs the others', async () => {
    // Prepare
    const { createCron, scheduler, reconciler, logEntries } = await setup();
    scheduler.failure = new Error('down');
    const first = await createCron({ name: 'first' });
    const second = await createCron({ name: 'second' });
    scheduler.failure = null;
    const put = scheduler.put.bind(scheduler);
    scheduler.put = async (schedule) => {
      if (schedule.jobId === first.id) throw new Error('ValidationException: bad target');
      await put(schedule);
    };

    // Act
    const report = await reconciler.reconcile();

    // Assess
    expect(report).toEqual({ checked: 2, repaired: 1, removed: 0, failed: 1 });
    expect(scheduler.schedules.has(second.id)).toBe(true);
    expect(
      logEntries().find(
        (entry) => entry.message === 'schedule repair failed; the next reconciliation tries again',
      ),
    ).toMatchObject({ level: 'error', job_id: first.id });
  });

  it("skips a job stored before today's validation whose expression cannot be scheduled, and goes on", async () => {
    // Prepare
    const { jobs, jobStore, createCron, scheduler, reconciler, logEntries } = await setup();
    const legacy = await createCron({ name: 'legacy' });
    // As an older release could have stored it: a day-of-month step with a weekday (now a 422).
    const stored = await jobStore.get(legacy.id);
    if (!stored) throw new Error('the job should exist');
    await jobStore.replace({ ...stored.job, cron_schedule: '0 9 */10 * 1' }, stored.version, stored.job);
    scheduler.failure = new Error('down');
    const other = await createCron({ name: 'other' });
    scheduler.failure = null;

    // Act
    const report = await reconciler.reconcile();
    const again = await reconciler.reconcile();
    const disabled = await jobs.setEnabled(legacy.id, false);

    // Assess
    expect(report).toEqual({ checked: 2, repaired: 2, removed: 0, failed: 0 });
    expect(again).toEqual({ checked: 2, repaired: 0, removed: 0, failed: 0 });
    expect(scheduler.schedules.has(legacy.id)).toBe(false);
    expect(scheduler.schedules.has(other.id)).toBe(true);
    expect(disabled.enabled).toBe(false);
    expect(
      logEntries().filter(
        (entry) => entry.message === 'cron job whose expression cannot be scheduled; it does not fire',
      ),
    ).toHaveLength(2);
  });

  it('repairs a schedule the Scheduler reports as stale (written for another target)', async () => {
    // Prepare
    const { createCron, scheduler, reconciler } = await setup();
    const job = await createCron();
    const list = scheduler.list.bind(scheduler);
    let stale = true;
    scheduler.list = async () =>
      (await list()).map((entry) => ({
        ...entry,
        schedules: entry.schedules.map((state) => ({ ...state, stale })),
      }));
    scheduler.calls.length = 0;

    // Act
    const report = await reconciler.reconcile();
    stale = false;
    const again = await reconciler.reconcile();

    // Assess
    expect(report.repaired).toBe(1);
    expect(again.repaired).toBe(0);
    expect(scheduler.calls.filter((call) => call.op === 'put')).toEqual([{ op: 'put', jobId: job.id }]);
  });
});
