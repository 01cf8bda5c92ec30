import { afterEach, describe, expect, it } from 'vitest';
import { LATE_FIRE_TOLERANCE_MS } from '../../infra/local/local-scheduler.js';
import { ControlPlaneClient, type Execution, type Job } from '../../sdk/index.js';
import { parseCron } from '../../shared/domain/cron.js';
import { nextFireTimes } from '../../shared/domain/cron-schedule.js';
import {
  FINISHED,
  startRuntimeWithClient,
  startTestRuntime,
  type TestRuntime,
} from '../support/local-runtime.js';
import { VirtualClock } from '../support/virtual-clock.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** No sweep while virtual days pass in real milliseconds: a run in flight would look overdue. */
const NO_SWEEP = { sweepIntervalMs: 3_600_000 };

const runtimes: TestRuntime[] = [];

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.cleanup();
});

/**
 * After each timer the virtual clock waits for the dispatch and for the run it queued to finish: time
 * stands still while a run executes, so each run starts at its fire instant.
 */
function settleOnRuns(clock: VirtualClock, runtime: TestRuntime): void {
  clock.onSettle(async () => {
    await runtime.scheduler.idle();
    await runtime.queues.drained({ timeoutMs: 20_000 });
  });
}

async function startAt(start: string) {
  const clock = new VirtualClock(start);
  const { runtime, client } = await startRuntimeWithClient({ ...NO_SWEEP, clock });
  runtimes.push(runtime);
  settleOnRuns(clock, runtime);
  return { runtime, client, clock };
}

/** Every execution of the job once all have finished (polled in real time: the workers run for real). */
async function finishedRuns(
  client: ControlPlaneClient,
  jobId: string,
  expected: number,
): Promise<Execution[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const page = await client.jobs.getExecutions(jobId, { limit: 100 });
    const done = page.executions.every((execution) => FINISHED.includes(execution.status));
    if ((page.executions.length >= expected && done) || Date.now() > deadline) {
      return [...page.executions].reverse();
    }
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 50));
  }
}

/** The fire instants of an expression in (from, to], from the domain's schedule (checked against croner elsewhere). */
function expectedFires(expression: string, timezone: string, from: number, to: number): string[] {
  const { fires } = nextFireTimes(parseCron(expression), timezone, new Date(from), 1000);
  return fires.filter((fire) => fire.at.getTime() <= to).map((fire) => fire.at.toISOString());
}

describe('cron jobs fire in the local runtime', () => {
  it('runs every cron example of the reference once per fire time, on time, as the clock moves', async () => {
    // Prepare
    // Monday 1 March 2027, 00:00:30 UTC.
    const { client, clock } = await startAt('2027-03-01T00:00:30.000Z');
    const examples: { cron: string; timezone?: string; windowMs: number; hand?: string[] }[] = [
      {
        cron: '0 9 * * *',
        windowMs: 3 * DAY,
        hand: ['2027-03-01T09:00:00.000Z', '2027-03-02T09:00:00.000Z', '2027-03-03T09:00:00.000Z'],
      },
      { cron: '0 * * * *', windowMs: 6 * HOUR },
      { cron: '*/15 * * * *', windowMs: 2 * HOUR },
      { cron: '0 8 * * 1', windowMs: 8 * DAY },
      { cron: '0 0 1 * *', windowMs: 32 * DAY },
      { cron: '0 17 * * 1-5', windowMs: 7 * DAY },
      { cron: '0 2 * * 0', windowMs: 8 * DAY },
      { cron: '0 0 * * 0', windowMs: 8 * DAY },
      // Its window opens in May (after the windows before it): 02:00 EDT is 06:00Z.
      { cron: '0 2 * * *', timezone: 'America/New_York', windowMs: 2 * DAY },
      { cron: '0 10 * * *', timezone: 'UTC', windowMs: 2 * DAY },
    ];
    const results: { job: Job; expected: string[] }[] = [];

    // Act
    // One example at a time: each is enabled for its own window, then disabled, so the runs stay few.
    for (const example of examples) {
      const from = clock.now().getTime();
      const job = await client.jobs.create({
        name: `Every "${example.cron}"`,
        trigger_type: 'cron',
        cron_schedule: example.cron,
        cron_timezone: example.timezone ?? 'UTC',
        prompt_template: 'Scheduled work',
      });
      await clock.advance(example.windowMs);
      await client.jobs.disable(job.id);
      const expected = expectedFires(example.cron, example.timezone ?? 'UTC', from, from + example.windowMs);
      results.push({ job, expected });
    }

    // Assess
    for (const { job, expected } of results) {
      expect(expected.length).toBeGreaterThan(0);
      const runs = await finishedRuns(client, job.id, expected.length);
      expect(runs.map((run) => run.scheduled_at)).toEqual(expected);
      for (const run of runs) {
        expect(run).toMatchObject({
          trigger_type: 'cron',
          status: 'succeeded',
          dedupe_key: `cron:${run.scheduled_at}`,
        });
        // The virtual clock stands still while the run is dispatched and started: no lateness.
        expect(run.lateness_ms).toBe(0);
      }
    }
    const [daily, , , , , , , , newYork] = results;
    expect(daily?.expected).toEqual(examples[0]?.hand);
    expect(newYork?.expected).toHaveLength(2);
    expect(newYork?.expected.every((at) => at.endsWith('T06:00:00.000Z'))).toBe(true);
  });

  it('fires a New York job across the spring-forward change: 02:30 does not exist that day', async () => {
    // Prepare
    // Saturday 13 March 2027; clocks spring forward at 02:00 on Sunday the 14th.
    const { client, clock } = await startAt('2027-03-13T00:00:00.000Z');
    const job = await client.jobs.create({
      name: 'Half past two',
      trigger_type: 'cron',
      cron_schedule: '30 2 * * *',
      cron_timezone: 'America/New_York',
      prompt_template: 'Scheduled work',
    });

    // Act
    await clock.advance(3 * DAY);
    await client.jobs.disable(job.id);
    const runs = await finishedRuns(client, job.id, 2);

    // Assess
    expect(runs.map((run) => run.scheduled_at)).toEqual([
      '2027-03-13T07:30:00.000Z', // 02:30 EST
      '2027-03-15T06:30:00.000Z', // 02:30 EDT; none on the 14th
    ]);
  });

  it('does not fire while disabled, fires from the moment it is enabled, and follows a changed expression', async () => {
    // Prepare
    const { client, clock } = await startAt('2027-03-01T00:00:30.000Z');
    const job = await client.jobs.create({
      name: 'Hourly',
      trigger_type: 'cron',
      cron_schedule: '0 * * * *',
      prompt_template: 'Scheduled work',
      enabled: false,
    });

    // Act
    await clock.advance(3 * HOUR); // 03:00:30, nothing fired
    await client.jobs.enable(job.id);
    await clock.advance(2 * HOUR); // 04:00 and 05:00
    await client.jobs.update(job.id, { cron_schedule: '30 * * * *' });
    await clock.advance(2 * HOUR); // 05:30 and 06:30
    await client.jobs.disable(job.id);
    await clock.advance(2 * HOUR); // nothing
    const runs = await finishedRuns(client, job.id, 4);

    // Assess
    expect(runs.map((run) => run.scheduled_at)).toEqual([
      '2027-03-01T04:00:00.000Z',
      '2027-03-01T05:00:00.000Z',
      '2027-03-01T05:30:00.000Z',
      '2027-03-01T06:30:00.000Z',
    ]);
  });
});

describe('the local scheduler across a restart', () => {
  it('runs a fire the runtime was down for if it is back within the tolerance, late; not one it was back after', async () => {
    // Prepare: an hourly job, no catch-up; the runtime is down over 01:00 and again over 02:00.
    const clockA = new VirtualClock('2027-03-01T00:00:30.000Z');
    const first = await startRuntimeWithClient({ ...NO_SWEEP, clock: clockA });
    runtimes.push(first.runtime);
    settleOnRuns(clockA, first.runtime);
    const job = await first.client.jobs.create({
      name: 'hourly',
      trigger_type: 'cron',
      cron_schedule: '0 * * * *',
      prompt_template: 'Scheduled work',
    });
    await clockA.advanceTo('2027-03-01T00:59:00.000Z');
    await first.runtime.stop();
    const reuse = { dataDir: first.runtime.dataDir, tableName: first.runtime.tableName };
    runtimes.splice(0);
    const restartAt = async (at: string) => {
      const clock = new VirtualClock(at);
      const runtime = await startTestRuntime({ ...NO_SWEEP, clock, reuse });
      runtimes.splice(0, runtimes.length, runtime);
      settleOnRuns(clock, runtime);
      await runtime.scheduler.idle();
      await runtime.queues.drained({ timeoutMs: 20_000 });
      return { runtime, clock };
    };

    // Act: back 40 s after the 01:00 fire (within the tolerance), then 90 s after the 02:00 fire.
    const second = await restartAt(
      new Date(Date.parse('2027-03-01T01:00:00.000Z') + LATE_FIRE_TOLERANCE_MS - 20_000).toISOString(),
    );
    await second.clock.advanceTo('2027-03-01T01:59:00.000Z');
    await second.runtime.stop();
    const third = await restartAt('2027-03-01T02:01:30.000Z');
    await third.clock.advanceTo('2027-03-01T03:00:30.000Z');
    const client = new ControlPlaneClient({ baseUrl: third.runtime.url, apiKey: third.runtime.apiKey });
    const runs = await finishedRuns(client, job.id, 2);

    // Assess: 01:00 ran 40 s late; 02:00 was missed and not run; 03:00 ran on time.
    expect(LATE_FIRE_TOLERANCE_MS).toBe(60_000);
    expect(runs.map((run) => [run.scheduled_at, run.lateness_ms])).toEqual([
      ['2027-03-01T01:00:00.000Z', 40_000],
      ['2027-03-01T03:00:00.000Z', 0],
    ]);
  });

  it('runs only the latest missed fire of a catch-up job, and none of the others', async () => {
    // Prepare
    const clockA = new VirtualClock('2027-03-01T00:00:30.000Z');
    const first = await startRuntimeWithClient({ ...NO_SWEEP, clock: clockA });
    runtimes.push(first.runtime);
    settleOnRuns(clockA, first.runtime);
    const create = (name: string, catchup: 'none' | 'latest') =>
      first.client.jobs.create({
        name,
        trigger_type: 'cron',
        cron_schedule: '0 * * * *',
        prompt_template: 'Scheduled work',
        config: { catchup },
      });
    const latest = await create('catch up the latest', 'latest');
    const none = await create('no catch-up', 'none');
    await clockA.advance(2 * HOUR);
    await finishedRuns(first.client, latest.id, 2);
    await finishedRuns(first.client, none.id, 2);
    await first.runtime.stop();

    // Act
    // Down from 02:00:30 until 07:20: fires at 03:00–07:00 are missed.
    const clockB = new VirtualClock('2027-03-01T07:20:00.000Z');
    const second = await startTestRuntime({
      ...NO_SWEEP,
      clock: clockB,
      reuse: { dataDir: first.runtime.dataDir, tableName: first.runtime.tableName },
    });
    // The second runtime owns the table and data dir now: it alone cleans them up.
    runtimes.splice(0, runtimes.length, second);
    settleOnRuns(clockB, second);
    await second.scheduler.idle();
    await second.queues.drained({ timeoutMs: 20_000 });
    await clockB.advanceTo('2027-03-01T08:00:30.000Z');
    const client = new ControlPlaneClient({ baseUrl: second.url, apiKey: second.apiKey });
    const latestRuns = await finishedRuns(client, latest.id, 4);
    const noneRuns = await finishedRuns(client, none.id, 3);

    // Assess
    expect(latestRuns.map((run) => run.scheduled_at)).toEqual([
      '2027-03-01T01:00:00.000Z',
      '2027-03-01T02:00:00.000Z',
      '2027-03-01T07:00:00.000Z', // the one catch-up run, late
      '2027-03-01T08:00:00.000Z',
    ]);
    expect(noneRuns.map((run) => run.scheduled_at)).toEqual([
      '2027-03-01T01:00:00.000Z',
      '2027-03-01T02:00:00.000Z',
      '2027-03-01T08:00:00.000Z',
    ]);
    expect(latestRuns[2]?.lateness_ms).toBe(20 * 60_000);
  });
});
