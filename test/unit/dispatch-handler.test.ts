import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/adapters/logger.js';
import { makeDispatchHandler } from '../../shared/handlers/dispatch-handler.js';
import { MemoryJobStore } from '../support/memory-job-store.js';
import {
  ManualClock,
  MemoryEntityStore,
  MemoryExecutionStore,
  makeEntity,
  openDeployment,
  RecordingQueue,
  sequentialIds,
} from '../support/memory-stores.js';
import { services } from '../support/services.js';

const START = Date.parse('2027-03-01T09:00:00.000Z');
const context = { getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

async function setup() {
  const clock = new ManualClock(START);
  const ids = sequentialIds(clock);
  const entities = new MemoryEntityStore();
  await entities.create(makeEntity({ id: 'echo', default: true }), null);
  const jobStore = new MemoryJobStore({ entities });
  const executions = new MemoryExecutionStore();
  const queue = new RecordingQueue();
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  const deployment = openDeployment();
  const common = { entities, executions, queue, deployment, clock, ids, logger };
  const { jobs, runs } = services({ jobStore, ...common });
  const dispatch = makeDispatchHandler({ runs, logger });
  return {
    jobs,
    executions,
    queue,
    dispatch: (event: unknown) => dispatch(event, context),
    logEntries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('dispatch handler', () => {
  it('starts one run for a fire delivered three times, as EventBridge Scheduler may', async () => {
    // Prepare
    const { jobs, dispatch, executions, queue } = await setup();
    const job = await jobs.create({
      name: 'daily',
      trigger_type: 'cron',
      cron_schedule: '0 9 * * *',
      prompt_template: 'Go',
    });
    const event = { job_id: job.id, scheduled_time: '2027-03-01T09:00:00Z' };

    // Act
    const results = [await dispatch(event), await dispatch(event), await dispatch(event)];

    // Assess
    expect(results).toEqual([{ outcome: 'started' }, { outcome: 'duplicate' }, { outcome: 'duplicate' }]);
    const history = await executions.list(job.id, { limit: 10, offset: 0 });
    expect(history.totalCount).toBe(1);
    expect(history.executions[0]).toMatchObject({
      trigger_type: 'cron',
      scheduled_at: '2027-03-01T09:00:00.000Z',
      dedupe_key: 'cron:2027-03-01T09:00:00.000Z',
    });
    // One run; while no worker has it, each delivery of the fire sends it (its writer may have stopped first).
    expect(new Set(queue.sent.map((sent) => sent.message.execution_id)).size).toBe(1);
    expect(queue.sent).toHaveLength(3);
  });

  it.each([
    ['a string', 'not an event'],
    ['null', null],
    ['an event without a job id', { scheduled_time: '2027-03-01T09:00:00Z' }],
    ['an unreadable time', { job_id: 'job_00000000-0000-4000-8000-000000000001', scheduled_time: 'soon' }],
  ])('acknowledges and logs %s without starting anything (a retry could never succeed)', async (_, event) => {
    // Prepare
    const { dispatch, queue, logEntries } = await setup();

    // Act
    const result = await dispatch(event);

    // Assess
    expect(result).toEqual({ outcome: 'dropped' });
    expect(queue.sent).toEqual([]);
    expect(
      logEntries().filter((entry) => entry.message === 'unreadable schedule event dropped'),
    ).toHaveLength(1);
  });

  it('ignores a fire for a job that is gone or disabled', async () => {
    // Prepare
    const { jobs, dispatch, queue } = await setup();
    const job = await jobs.create({
      name: 'daily',
      trigger_type: 'cron',
      cron_schedule: '0 9 * * *',
      prompt_template: 'Go',
      enabled: false,
    });

    // Act
    const disabled = await dispatch({ job_id: job.id, scheduled_time: '2027-03-01T09:00:00Z' });
    const gone = await dispatch({
      job_id: 'job_00000000-0000-4000-8000-0000000000ff',
      scheduled_time: '2027-03-01T09:00:00Z',
    });

    // Assess
    expect([disabled, gone]).toEqual([{ outcome: 'ignored' }, { outcome: 'ignored' }]);
    expect(queue.sent).toEqual([]);
  });

  it('throws when the table cannot be reached, so the Scheduler retries the fire', async () => {
    // Prepare
    const { jobs, dispatch, executions } = await setup();
    const job = await jobs.create({
      name: 'daily',
      trigger_type: 'cron',
      cron_schedule: '0 9 * * *',
      prompt_template: 'Go',
    });
    const outage = new Error('ProvisionedThroughputExceededException');
    executions.start = () => Promise.reject(outage);

    // Act
    const result = dispatch({ job_id: job.id, scheduled_time: '2027-03-01T09:00:00Z' });

    // Assess
    await expect(result).rejects.toBe(outage);
  });
});
