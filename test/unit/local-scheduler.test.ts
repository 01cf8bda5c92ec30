import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  fileSchedulerCheckpoint,
  LocalScheduler,
  type ScheduleDispatch,
  type SchedulerCheckpoint,
} from '../../infra/local/local-scheduler.js';
import { systemTimerClock } from '../../infra/local/timer-clock.js';
import { toEventBridgeCron } from '../../shared/domain/aws-cron.js';
import { CronSyntaxError, parseCron } from '../../shared/domain/cron.js';
import { nextFireTimes } from '../../shared/domain/cron-schedule.js';
import type { JobSchedule, LogFields, Logger } from '../../shared/ports.js';
import { VirtualClock } from '../support/virtual-clock.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Dispatched {
  jobId: string;
  scheduledTime: string;
  /** When the dispatch was called (virtual time). */
  at: string;
}

interface LogEntry {
  level: Exclude<keyof Logger, 'withKeys'>;
  message: string;
  fields: LogFields;
}

function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const record =
    (level: Exclude<keyof Logger, 'withKeys'>) =>
    (message: string, fields: LogFields = {}) => {
      entries.push({ level, message, fields });
    };
  return {
    entries,
    logger: {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
      withKeys: (_keys, work) => work(),
    },
  };
}

function memoryCheckpoint(initial: Date | null = null): SchedulerCheckpoint & { saved: Date | null } {
  const checkpoint = {
    saved: initial,
    read: async () => checkpoint.saved,
    write: async (at: Date) => {
      checkpoint.saved = at;
    },
  };
  return checkpoint;
}

function jobSchedule(jobId: string, cron: string, overrides: Partial<JobSchedule> = {}): JobSchedule {
  return {
    jobId,
    cron,
    expressions: toEventBridgeCron(parseCron(cron)),
    timezone: 'UTC',
    enabled: true,
    catchup: 'none',
    ...overrides,
  };
}

/**
 * A scheduler on the virtual clock with a recording dispatch (unless one is given). By default the clock
 * waits for `scheduler.idle()` after each timer, so every dispatch a timer starts has finished when an
 * advance returns.
 */
function createScheduler(
  clock: VirtualClock,
  options: {
    checkpoint?: SchedulerCheckpoint;
    dispatch?: ScheduleDispatch;
    lateToleranceMs?: number;
    maxConcurrentDispatches?: number;
    settle?: boolean;
  } = {},
) {
  const dispatched: Dispatched[] = [];
  const { logger, entries } = recordingLogger();
  const { settle = true, ...rest } = options;
  const scheduler = new LocalScheduler({
    clock,
    logger,
    dispatch: async (jobId, scheduledTime) => {
      dispatched.push({ jobId, scheduledTime, at: clock.now().toISOString() });
    },
    ...rest,
  });
  if (settle) clock.onSettle(() => scheduler.idle());
  return { scheduler, dispatched, entries };
}

/** Every fire after `from` and at or before `to`, by `nextFireTimes`, as ISO strings. */
function firesBetween(cron: string, timezone: string, from: string, to: string): string[] {
  const parsed = parseCron(cron);
  const end = new Date(to).getTime();
  const result: string[] = [];
  let after = new Date(from);
  for (;;) {
    const { fires } = nextFireTimes(parsed, timezone, after, 500);
    for (const fire of fires) {
      if (fire.at.getTime() > end) return result;
      result.push(fire.at.toISOString());
    }
    const last = fires.at(-1);
    if (!last) return result;
    after = last.at;
  }
}

const timesOf = (dispatched: Dispatched[], jobId?: string) =>
  dispatched
    .filter((entry) => jobId === undefined || entry.jobId === jobId)
    .map((entry) => entry.scheduledTime);

describe('LocalScheduler: fire times and daylight saving', () => {
  it('fires 0 9 * * * in Europe/London once a day at 09:00 local over six weeks spanning the March change', async () => {
    // Prepare: London moves from GMT (UTC+0) to BST (UTC+1) on Sunday 28 March 2027.
    const clock = new VirtualClock('2027-03-01T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_london', '0 9 * * *', { timezone: 'Europe/London' }));
    await scheduler.start();

    // Act
    await clock.advanceTo('2027-04-12T00:00:00Z');

    // Assess
    const expected = Array.from({ length: 42 }, (_, day) => {
      const date = new Date(Date.UTC(2027, 2, 1 + day));
      const hourUtc = date < new Date('2027-03-28T00:00:00Z') ? 9 : 8;
      return new Date(date.getTime() + hourUtc * HOUR).toISOString();
    });
    expect(timesOf(dispatched)).toEqual(expected);
    expect(expected[26]).toBe('2027-03-27T09:00:00.000Z');
    expect(expected[27]).toBe('2027-03-28T08:00:00.000Z');
    expect(dispatched.every((entry) => entry.at === entry.scheduledTime)).toBe(true);
  });

  it('does not fire 30 2 * * * in America/New_York on the spring-forward day (2027-03-14)', async () => {
    // Prepare
    const clock = new VirtualClock('2027-03-12T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_ny', '30 2 * * *', { timezone: 'America/New_York' }));
    await scheduler.start();

    // Act
    await clock.advanceTo('2027-03-17T00:00:00Z');

    // Assess: 02:30 EST is 07:30Z; 02:30 does not exist on the 14th; 02:30 EDT is 06:30Z.
    expect(timesOf(dispatched)).toEqual([
      '2027-03-12T07:30:00.000Z',
      '2027-03-13T07:30:00.000Z',
      '2027-03-15T06:30:00.000Z',
      '2027-03-16T06:30:00.000Z',
    ]);
  });

  it('fires 30 1 * * * in America/New_York once on the fall-back day (2027-11-07), at the first 01:30 (EDT)', async () => {
    // Prepare
    const clock = new VirtualClock('2027-11-05T12:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_ny', '30 1 * * *', { timezone: 'America/New_York' }));
    await scheduler.start();

    // Act
    await clock.advanceTo('2027-11-09T12:00:00Z');

    // Assess: 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST) on the 7th; only the first fires.
    expect(timesOf(dispatched)).toEqual([
      '2027-11-06T05:30:00.000Z',
      '2027-11-07T05:30:00.000Z',
      '2027-11-08T06:30:00.000Z',
      '2027-11-09T06:30:00.000Z',
    ]);
  });

  it.each([
    // Lord Howe falls back 30 minutes on Sunday 4 April 2027 at 02:00 (UTC+11 → UTC+10:30, at 15:00Z):
    // 01:30 and 01:45 happen twice and fire at the first; the next fire, 02:00, is 45 minutes later.
    ['April (fall back)', '2027-04-02T12:00:00Z', '2027-04-05T12:00:00Z', '2027-04-03T14:45:00.000Z', 45],
    // It springs forward 30 minutes on Sunday 3 October 2027 at 02:00 (UTC+10:30 → UTC+11, at 15:30Z):
    // 02:00 and 02:15 do not exist, so 01:45 (15:15Z) is followed by 02:30 (15:30Z).
    [
      'October (spring forward)',
      '2027-10-01T12:00:00Z',
      '2027-10-04T12:00:00Z',
      '2027-10-02T15:15:00.000Z',
      15,
    ],
  ])(
    'fires */15 * * * * in Australia/Lord_Howe once per fire time across the %s change',
    async (_, from, to, before, gapMinutes) => {
      // Prepare
      const clock = new VirtualClock(from);
      const { scheduler, dispatched } = createScheduler(clock);
      await scheduler.put(jobSchedule('job_lhi', '*/15 * * * *', { timezone: 'Australia/Lord_Howe' }));
      await scheduler.start();

      // Act
      await clock.advanceTo(to);

      // Assess
      const times = timesOf(dispatched);
      expect(times).toEqual(firesBetween('*/15 * * * *', 'Australia/Lord_Howe', from, to));
      expect(new Set(times).size).toBe(times.length);
      const index = times.indexOf(before);
      expect(index).toBeGreaterThanOrEqual(0);
      expect(new Date(times[index + 1] ?? 0).getTime() - new Date(before).getTime()).toBe(
        gapMinutes * 60_000,
      );
      // Every other fire in the window is 15 minutes after the one before.
      const gaps = times
        .slice(1)
        .map((time, i) => new Date(time).getTime() - new Date(times[i] ?? 0).getTime());
      expect(gaps.filter((gap) => gap !== 15 * 60_000)).toEqual(
        gapMinutes === 15 ? [] : [gapMinutes * 60_000],
      );
    },
  );

  it('fires every reference example over five weeks exactly when nextFireTimes says', async () => {
    // Prepare: the window spans New York's fall-back (2026-11-01).
    const from = '2026-10-20T00:00:00Z';
    const to = '2026-11-24T00:00:00Z';
    const examples: [string, string][] = [
      ['0 9 * * *', 'UTC'],
      ['0 * * * *', 'UTC'],
      ['*/15 * * * *', 'UTC'],
      ['0 8 * * 1', 'UTC'],
      ['0 0 1 * *', 'UTC'],
      ['0 17 * * 1-5', 'UTC'],
      ['0 2 * * 0', 'UTC'],
      ['0 0 * * 0', 'UTC'],
      ['0 2 * * *', 'America/New_York'],
      ['0 10 * * *', 'UTC'],
    ];
    const clock = new VirtualClock(from);
    const { scheduler, dispatched } = createScheduler(clock);
    for (const [index, [cron, timezone]] of examples.entries()) {
      await scheduler.put(jobSchedule(`job_${index}`, cron, { timezone }));
    }
    await scheduler.start();

    // Act
    await clock.advanceTo(to);

    // Assess
    for (const [index, [cron, timezone]] of examples.entries()) {
      expect(timesOf(dispatched, `job_${index}`), `${cron} ${timezone}`).toEqual(
        firesBetween(cron, timezone, from, to),
      );
    }
    expect(dispatched.every((entry) => entry.at === entry.scheduledTime)).toBe(true);
    // Hand-computed: Mondays 08:00Z; the 1st of the month; 02:00 EDT (06:00Z), then EST (07:00Z).
    expect(timesOf(dispatched, 'job_3')).toEqual([
      '2026-10-26T08:00:00.000Z',
      '2026-11-02T08:00:00.000Z',
      '2026-11-09T08:00:00.000Z',
      '2026-11-16T08:00:00.000Z',
      '2026-11-23T08:00:00.000Z',
    ]);
    expect(timesOf(dispatched, 'job_4')).toEqual(['2026-11-01T00:00:00.000Z']);
    expect(timesOf(dispatched, 'job_8')).toContain('2026-10-31T06:00:00.000Z');
    expect(timesOf(dispatched, 'job_8')).toContain('2026-11-02T07:00:00.000Z');
    expect(timesOf(dispatched, 'job_2')).toHaveLength(35 * 96);
    expect(timesOf(dispatched, 'job_5')).toHaveLength(25);
  });
});

describe('LocalScheduler: puts, removals and listing', () => {
  it('stores a disabled job, lists it, and never fires it', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_off', '0 * * * *', { enabled: false, timezone: 'Europe/Paris' }));
    await scheduler.start();

    // Act
    await clock.advance(2 * DAY);

    // Assess
    expect(dispatched).toEqual([]);
    expect(clock.pendingTimers()).toEqual([]);
    expect(await scheduler.list()).toEqual([
      {
        jobId: 'job_off',
        schedules: [
          {
            index: 0,
            expression: 'cron(0 * * * ? *)',
            timezone: 'Europe/Paris',
            enabled: false,
            stale: false,
          },
        ],
      },
    ]);
  });

  it('fires a job enabled later from then on, without catching up on the disabled period', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    const disabled = jobSchedule('job_later', '0 * * * *', { enabled: false, catchup: 'latest' });
    await scheduler.put(disabled);
    await scheduler.start();
    await clock.advanceTo('2027-01-04T05:30:00Z');

    // Act
    await scheduler.put({ ...disabled, enabled: true });
    await clock.advanceTo('2027-01-04T08:00:00Z');

    // Assess
    expect(timesOf(dispatched)).toEqual([
      '2027-01-04T06:00:00.000Z',
      '2027-01-04T07:00:00.000Z',
      '2027-01-04T08:00:00.000Z',
    ]);
  });

  it('stops firing a removed job and no longer lists it', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_gone', '0 * * * *'));
    await scheduler.put(jobSchedule('job_stays', '30 * * * *'));
    await scheduler.start();
    await clock.advanceTo('2027-01-04T02:10:00Z');

    // Act
    await scheduler.remove('job_gone');
    await scheduler.remove('job_never_existed');
    await clock.advanceTo('2027-01-04T05:00:00Z');

    // Assess
    expect(timesOf(dispatched, 'job_gone')).toEqual(['2027-01-04T01:00:00.000Z', '2027-01-04T02:00:00.000Z']);
    expect(timesOf(dispatched, 'job_stays')).toHaveLength(5);
    expect((await scheduler.list()).map((entry) => entry.jobId)).toEqual(['job_stays']);
  });

  it('re-arms on a changed expression: the old fire times stop and the new ones start', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_changed', '0 * * * *'));
    await scheduler.start();
    await clock.advanceTo('2027-01-04T02:40:00Z');

    // Act
    await scheduler.put(jobSchedule('job_changed', '30 * * * *'));
    await clock.advanceTo('2027-01-04T05:00:00Z');

    // Assess
    expect(timesOf(dispatched)).toEqual([
      '2027-01-04T01:00:00.000Z',
      '2027-01-04T02:00:00.000Z',
      '2027-01-04T03:30:00.000Z',
      '2027-01-04T04:30:00.000Z',
    ]);
    expect(clock.pendingTimers()).toEqual([new Date('2027-01-04T05:30:00Z')]);
  });

  it.each([
    ['the same schedule', {}, ['2027-01-04T03:00:00.000Z']],
    [
      'new EventBridge expressions only',
      { expressions: ['cron(0 * * * ? *)', 'cron(5 * * * ? *)'] },
      ['2027-01-04T03:00:00.000Z'],
    ],
    ['a changed timezone', { timezone: 'Asia/Kolkata' }, []],
    ['a changed expression', { cron: '0 */2 * * *' }, []],
  ])('keeps the cursor on a put of %s, and resets it otherwise', async (_, change, expected) => {
    // Prepare: the machine sleeps through three fires; the put comes before the late timer does.
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    const original = jobSchedule('job_put', '0 * * * *', { catchup: 'latest' });
    await scheduler.put(original);
    await scheduler.start();
    clock.jump(3 * HOUR + 10 * 60_000);

    // Act
    await scheduler.put({ ...original, ...change });
    await scheduler.idle();

    // Assess: an unchanged cursor still sees the missed fires (and catches up on the latest).
    expect(timesOf(dispatched)).toEqual(expected);
  });

  it('lists one state per EventBridge expression, ordered by job id', async () => {
    // Prepare: both day fields restricted need two EventBridge schedules.
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_b', '0 9 1 * 1', { timezone: 'America/New_York' }));
    await scheduler.put(jobSchedule('job_a', '0 9 * * *'));

    // Act
    const listed = await scheduler.list();

    // Assess
    expect(listed).toEqual([
      {
        jobId: 'job_a',
        schedules: [
          { index: 0, expression: 'cron(0 9 * * ? *)', timezone: 'UTC', enabled: true, stale: false },
        ],
      },
      {
        jobId: 'job_b',
        schedules: [
          {
            index: 0,
            expression: 'cron(0 9 1 * ? *)',
            timezone: 'America/New_York',
            enabled: true,
            stale: false,
          },
          {
            index: 1,
            expression: 'cron(0 9 ? * 2 *)',
            timezone: 'America/New_York',
            enabled: true,
            stale: false,
          },
        ],
      },
    ]);
  });

  it('rejects an invalid expression or timezone, storing nothing', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler } = createScheduler(clock);

    // Act
    const badCron = scheduler.put({ ...jobSchedule('job_bad', '0 9 * * *'), cron: '0 25 * * *' });
    const badZone = scheduler.put(jobSchedule('job_bad', '0 9 * * *', { timezone: 'Mars/Olympus_Mons' }));

    // Assess
    await expect(badCron).rejects.toBeInstanceOf(CronSyntaxError);
    await expect(badZone).rejects.toThrow(/Mars\/Olympus_Mons/);
    expect(await scheduler.list()).toEqual([]);
  });
});

describe('LocalScheduler: missed fires', () => {
  it.each([
    ['none', 'nothing', []],
    [
      'latest',
      'the latest missed fire, once,',
      [{ jobId: 'job_daily', scheduledTime: '2027-01-08T09:00:00.000Z', at: '2027-01-08T12:00:00.000Z' }],
    ],
  ] as const)(
    'after three days down, with catch-up %s, dispatches %s for the downtime, then fires on time',
    async (catchup, _, expectedCatchUp) => {
      // Prepare: scheduler A runs two days and stops, leaving its checkpoint.
      const clock = new VirtualClock('2027-01-04T00:00:00Z');
      const checkpoint = memoryCheckpoint();
      const schedule = jobSchedule('job_daily', '0 9 * * *', { catchup });
      const first = createScheduler(clock, { checkpoint });
      await first.scheduler.put(schedule);
      await first.scheduler.start();
      await clock.advanceTo('2027-01-05T12:00:00Z');
      await first.scheduler.stop();
      expect(checkpoint.saved).toEqual(new Date('2027-01-05T12:00:00Z'));
      expect(timesOf(first.dispatched)).toEqual(['2027-01-04T09:00:00.000Z', '2027-01-05T09:00:00.000Z']);
      expect(clock.pendingTimers()).toEqual([]);
      await clock.advance(3 * DAY);

      // Act: scheduler B is fed the jobs, then started.
      const second = createScheduler(clock, { checkpoint });
      await second.scheduler.put(schedule);
      await second.scheduler.start();
      await second.scheduler.idle();
      const atStart = [...second.dispatched];
      await clock.advanceTo('2027-01-09T10:00:00Z');

      // Assess
      expect(atStart).toEqual(expectedCatchUp);
      expect(second.dispatched.slice(atStart.length)).toEqual([
        { jobId: 'job_daily', scheduledTime: '2027-01-09T09:00:00.000Z', at: '2027-01-09T09:00:00.000Z' },
      ]);
      expect(second.entries).toContainEqual({
        level: 'info',
        message: 'schedule fires missed',
        fields: {
          jobId: 'job_daily',
          catchup,
          missed: catchup === 'none' ? 3 : 2,
          missedIsLowerBound: false,
          latestScheduledTime: '2027-01-08T09:00:00.000Z',
          lateByMs: 3 * HOUR,
        },
      });
      // Written when the scheduler last handled its fires.
      expect(checkpoint.saved).toEqual(new Date('2027-01-09T09:00:00Z'));
    },
  );

  it('starts fresh without a checkpoint: nothing from before the start is dispatched', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T09:30:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_daily', '0 9 * * *', { catchup: 'latest' }));

    // Act
    await scheduler.start();
    await clock.advanceTo('2027-01-05T09:00:00Z');

    // Assess
    expect(timesOf(dispatched)).toEqual(['2027-01-05T09:00:00.000Z']);
  });

  it('bounds the count after a year down for an every-minute job and catches up only the latest', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-01T00:00:30Z');
    const checkpoint = memoryCheckpoint(new Date('2026-01-01T00:00:00Z'));
    const { scheduler, dispatched, entries } = createScheduler(clock, { checkpoint });
    await scheduler.put(jobSchedule('job_minutely', '* * * * *', { catchup: 'latest' }));

    // Act
    await scheduler.start();
    await scheduler.idle();

    // Assess: 00:00 is 30 s old, within the tolerance: dispatched as on time, the rest counted as missed.
    expect(dispatched).toEqual([
      { jobId: 'job_minutely', scheduledTime: '2027-01-01T00:00:00.000Z', at: '2027-01-01T00:00:30.000Z' },
    ]);
    expect(entries.find((entry) => entry.message === 'schedule fires missed')?.fields).toMatchObject({
      missed: 999,
      missedIsLowerBound: true,
    });
  });

  it.each([
    ['none', 'nothing', []],
    [
      'latest',
      'the latest missed fire, once,',
      [{ jobId: 'job_quarter', scheduledTime: '2027-01-04T03:00:00.000Z', at: '2027-01-04T03:05:00.000Z' }],
    ],
  ] as const)(
    'after the machine sleeps through fires, with catch-up %s, dispatches %s, then fires on time',
    async (catchup, _, expectedCatchUp) => {
      // Prepare
      const clock = new VirtualClock('2027-01-04T00:00:00Z');
      const { scheduler, dispatched } = createScheduler(clock);
      await scheduler.put(jobSchedule('job_quarter', '*/15 * * * *', { catchup }));
      await scheduler.start();
      await clock.advanceTo('2027-01-04T01:00:00Z');
      expect(dispatched).toHaveLength(4);

      // Act: asleep from 01:00 to 03:05 (eight fires, 01:15 to 03:00); the 01:15 timer then fires late.
      clock.jump(2 * HOUR + 5 * 60_000);
      await clock.advance(0);
      const afterWake = dispatched.slice(4);
      await clock.advanceTo('2027-01-04T03:30:00Z');

      // Assess
      expect(afterWake).toEqual(expectedCatchUp);
      expect(timesOf(dispatched.slice(4 + afterWake.length))).toEqual([
        '2027-01-04T03:15:00.000Z',
        '2027-01-04T03:30:00.000Z',
      ]);
    },
  );

  it('dispatches a fire that is late by less than the tolerance as on time, whatever the catch-up', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler, dispatched, entries } = createScheduler(clock, { lateToleranceMs: 60_000 });
    await scheduler.put(jobSchedule('job_quarter', '*/15 * * * *', { catchup: 'none' }));
    await scheduler.start();

    // Act
    clock.jump(15 * 60_000 + 45_000);
    await clock.advance(0);

    // Assess
    expect(dispatched).toEqual([
      { jobId: 'job_quarter', scheduledTime: '2027-01-04T00:15:00.000Z', at: '2027-01-04T00:15:45.000Z' },
    ]);
    expect(entries.filter((entry) => entry.message === 'schedule fires missed')).toEqual([]);
  });
});

describe('LocalScheduler: dispatch failures and stopping', () => {
  it('retries a failed dispatch twice, then logs the fire as failed, and still fires the next time', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const attempts: { scheduledTime: string; at: string }[] = [];
    const { scheduler, entries } = createScheduler(clock, {
      dispatch: async (_jobId, scheduledTime) => {
        attempts.push({ scheduledTime, at: clock.now().toISOString() });
        if (scheduledTime === '2027-01-04T01:00:00.000Z') throw new Error('table unavailable');
      },
    });
    await scheduler.put(jobSchedule('job_flaky', '0 * * * *'));
    await scheduler.start();

    // Act
    await clock.advanceTo('2027-01-04T02:00:00Z');

    // Assess
    expect(attempts).toEqual([
      { scheduledTime: '2027-01-04T01:00:00.000Z', at: '2027-01-04T01:00:00.000Z' },
      { scheduledTime: '2027-01-04T01:00:00.000Z', at: '2027-01-04T01:00:02.000Z' },
      { scheduledTime: '2027-01-04T01:00:00.000Z', at: '2027-01-04T01:00:12.000Z' },
      { scheduledTime: '2027-01-04T02:00:00.000Z', at: '2027-01-04T02:00:00.000Z' },
    ]);
    const failures = entries.filter((entry) => entry.level === 'error');
    expect(failures.map((entry) => [entry.message, entry.fields.attempt])).toEqual([
      ['scheduled dispatch failed; retrying', 1],
      ['scheduled dispatch failed; retrying', 2],
      ['scheduled dispatch failed', 3],
    ]);
    expect(failures[2]?.fields).toMatchObject({
      jobId: 'job_flaky',
      scheduledTime: '2027-01-04T01:00:00.000Z',
    });
    expect(failures[2]?.fields.error).toMatchObject({ message: 'table unavailable' });
  });

  it('runs a fire whose first dispatch failed once the retry succeeds', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    let calls = 0;
    const succeeded: string[] = [];
    const { scheduler } = createScheduler(clock, {
      dispatch: async (_jobId, scheduledTime) => {
        calls++;
        if (calls === 1) throw new Error('throttled');
        succeeded.push(scheduledTime);
      },
    });
    await scheduler.put(jobSchedule('job_once', '0 1 * * *'));
    await scheduler.start();

    // Act
    await clock.advanceTo('2027-01-04T01:01:00Z');

    // Assess
    expect(calls).toBe(2);
    expect(succeeded).toEqual(['2027-01-04T01:00:00.000Z']);
  });

  it('cancels pending retries on stop', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    let calls = 0;
    const { scheduler, entries } = createScheduler(clock, {
      dispatch: async () => {
        calls++;
        throw new Error('down');
      },
    });
    await scheduler.put(jobSchedule('job_down', '0 1 * * *'));
    await scheduler.start();
    await clock.advanceTo('2027-01-04T01:00:01Z');

    // Act
    await scheduler.stop();
    await clock.advanceTo('2027-01-04T02:00:00Z');

    // Assess
    expect(calls).toBe(1);
    expect(clock.pendingTimers()).toEqual([]);
    expect(entries.some((entry) => entry.message.startsWith('stopping with dispatch retries pending'))).toBe(
      true,
    );
  });

  it('waits in stop() for a dispatch in flight, then writes the checkpoint', async () => {
    // Prepare: no settle hook, so the advance returns while the dispatch is still running.
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const checkpoint = memoryCheckpoint();
    let finishDispatch = () => {};
    let finished = false;
    const { scheduler } = createScheduler(clock, {
      checkpoint,
      settle: false,
      dispatch: async () => {
        await new Promise<void>((resolveDispatch) => {
          finishDispatch = resolveDispatch;
        });
        finished = true;
      },
    });
    await scheduler.put(jobSchedule('job_slow', '0 * * * *'));
    await scheduler.start();
    await clock.advanceTo('2027-01-04T01:00:00Z');
    await clock.advanceTo('2027-01-04T01:20:00Z');

    // Act
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await clock.settle();
    const stoppedBeforeFinish = stopped;
    finishDispatch();
    await stopping;

    // Assess
    expect(stoppedBeforeFinish).toBe(false);
    expect(finished).toBe(true);
    expect(checkpoint.saved).toEqual(new Date('2027-01-04T01:20:00Z'));
    expect(clock.pendingTimers()).toEqual([]);
  });

  it('fires nothing after stop()', async () => {
    // Prepare
    const clock = new VirtualClock('2027-01-04T00:00:00Z');
    const { scheduler, dispatched } = createScheduler(clock);
    await scheduler.put(jobSchedule('job_hourly', '0 * * * *'));
    await scheduler.start();

    // Act
    await scheduler.stop();
    await scheduler.put(jobSchedule('job_other', '30 * * * *'));
    await clock.advance(DAY);

    // Assess
    expect(dispatched).toEqual([]);
    await expect(scheduler.start()).rejects.toThrow(/only be started once/);
  });
});

describe('fileSchedulerCheckpoint', () => {
  it('reads null before the first write, then the instant written last', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'scheduler-checkpoint-'));
    try {
      const checkpoint = fileSchedulerCheckpoint(join(dir, 'nested', 'scheduler-checkpoint'));

      // Act
      const before = await checkpoint.read();
      await checkpoint.write(new Date('2027-01-04T00:00:00Z'));
      await checkpoint.write(new Date('2027-01-05T00:00:00Z'));
      const after = await checkpoint.read();

      // Assess
      expect(before).toBeNull();
      expect(after).toEqual(new Date('2027-01-05T00:00:00Z'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('systemTimerClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a timer 30 ms ahead', async () => {
    // Prepare
    const at = new Date(Date.now() + 30);

    // Act
    const firedAt = await new Promise<number>((resolveFired) => {
      systemTimerClock.setTimer(at, () => resolveFired(Date.now()));
    });

    // Assess
    expect(firedAt).toBeGreaterThanOrEqual(at.getTime());
  });

  it('does not fire a cancelled timer', async () => {
    // Prepare
    let fired = false;
    const cancel = systemTimerClock.setTimer(new Date(Date.now() + 20), () => {
      fired = true;
    });

    // Act
    cancel();
    await new Promise((resolveWait) => setTimeout(resolveWait, 80));

    // Assess
    expect(fired).toBe(false);
  });

  it('notices a wall-clock jump (machine sleep) within a minute, and waits past the setTimeout limit', async () => {
    // Prepare
    vi.useFakeTimers({ now: new Date('2027-01-04T00:00:00Z') });
    const fired: string[] = [];
    systemTimerClock.setTimer(new Date('2027-01-04T01:00:00Z'), () => fired.push('hour'));
    systemTimerClock.setTimer(new Date('2027-02-04T00:00:00Z'), () => fired.push('month'));

    // Act: a minute passes, then the wall clock jumps two hours without any timer running.
    vi.advanceTimersByTime(60_000);
    const beforeJump = [...fired];
    vi.setSystemTime(new Date('2027-01-04T02:01:00Z'));
    vi.advanceTimersByTime(60_000);

    // Assess
    expect(beforeJump).toEqual([]);
    expect(fired).toEqual(['hour']);
  });
});

describe('LocalScheduler: bounded dispatch', () => {
  it('starts the fires of many jobs due at once a few at a time, and every one of them', async () => {
    // Prepare: 20 every-minute jobs, dispatches that take a while, at most 3 at once.
    const clock = new VirtualClock('2027-05-01T10:00:30Z');
    let inFlight = 0;
    let most = 0;
    const started: string[] = [];
    const { scheduler } = createScheduler(clock, {
      maxConcurrentDispatches: 3,
      dispatch: async (jobId) => {
        inFlight++;
        most = Math.max(most, inFlight);
        started.push(jobId);
        await new Promise((resolveLater) => setTimeout(resolveLater, 5));
        inFlight--;
      },
    });
    for (let index = 0; index < 20; index++) await scheduler.put(jobSchedule(`job_${index}`, '* * * * *'));
    await scheduler.start();

    // Act
    await clock.advanceTo('2027-05-01T10:01:00Z');
    await scheduler.idle();

    // Assess
    expect(most).toBe(3);
    expect(started.sort()).toEqual(Array.from({ length: 20 }, (_, index) => `job_${index}`).sort());
    await scheduler.stop();
  });
});

describe('LocalScheduler: paced dispatch', () => {
  it('dispatches the fires due at one wake earliest first, a late catch-up before the minute that just began', async () => {
    // Prepare: back after 90 s down; three jobs fed latest-minute first, one dispatch at a time.
    const clock = new VirtualClock('2027-05-01T10:00:10Z');
    const checkpoint = memoryCheckpoint(new Date('2027-05-01T09:58:40Z'));
    const { scheduler, dispatched } = createScheduler(clock, {
      checkpoint,
      maxConcurrentDispatches: 1,
      lateToleranceMs: 5 * 60_000,
    });
    await scheduler.put(jobSchedule('job_c', '* * * * *'));
    await scheduler.put(jobSchedule('job_b', '0 10 * * *'));
    await scheduler.put(jobSchedule('job_a', '59 9 * * *'));

    // Act
    await scheduler.start();
    await scheduler.idle();

    // Assess
    expect(dispatched.map(({ jobId, scheduledTime }) => `${scheduledTime} ${jobId}`)).toEqual([
      '2027-05-01T09:59:00.000Z job_a',
      '2027-05-01T10:00:00.000Z job_b',
      '2027-05-01T10:00:00.000Z job_c',
    ]);
    await scheduler.stop();
  });
});
