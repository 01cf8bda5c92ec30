/**
 * The in-process `Scheduler` of the local runtime: it fires each enabled job's cron expression at the
 * instants EventBridge Scheduler would, in the job's IANA timezone, and calls `dispatch` with the fire
 * instant (what EventBridge passes as `<aws.scheduler.scheduled-time>`).
 *
 * Daylight-saving changes follow EventBridge Scheduler's rule (`nextFireTimes`):
 * - a local time that does not exist (clocks spring forward over it) does not fire that day;
 * - a local time that happens twice (clocks fall back) fires once, at its first occurrence.
 *
 * Missed fires. Each job keeps a cursor: every fire at or before it has been handled. When the timer
 * fires (or a `put`, `remove` or `start` re-evaluates), the fires due for a job are those after its
 * cursor and up to now. If the latest of them is at most `lateToleranceMs` old it is dispatched: the
 * normal, on-time case. Otherwise the process was down or the machine slept through them: with catch-up
 * `latest` the latest one is dispatched (once, late), with `none` nothing is, and the miss is logged.
 * Due fires before the latest are never dispatched: at most one dispatch per job per wake. The cursor
 * then moves to now.
 *
 * Cursors start at now when a job is put (or its expression, zone or enabled flag changes) while the
 * scheduler runs: there is no catch-up for fires before a change. Jobs put before `start()` (the runtime
 * feeds every job from the table, then starts) start at the checkpoint, the last instant the previous
 * process was known to have handled every fire, so fires missed while it was down are detected. The
 * checkpoint is written at every evaluation (timer, `put`, `remove`, `start`, `stop`), each of which
 * first handles the fires due by then.
 *
 * Pacing. A minute when thousands of jobs fire is dispatched a few fires at a time
 * (`maxConcurrentDispatches`), earliest scheduled time first.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type CronExpression, parseCron } from '../../shared/domain/cron.js';
import { nextFireTimes } from '../../shared/domain/cron-schedule.js';
import type { JobSchedule, Logger, Scheduler, ScheduleState } from '../../shared/ports.js';
import type { TimerClock } from './timer-clock.js';

/** Where the scheduler remembers, across restarts, the last instant it had handled every fire up to. */
export interface SchedulerCheckpoint {
  /** The saved instant, or null if there is none yet. */
  read(): Promise<Date | null>;
  write(at: Date): Promise<void>;
}

/** Starts the job's run for one fire; `scheduledTime` is the fire instant as an ISO string. */
export type ScheduleDispatch = (jobId: string, scheduledTime: string) => Promise<void>;

export interface LocalSchedulerOptions {
  clock: TimerClock;
  /** Called once per fire; a rejection is logged and the schedule goes on. */
  dispatch: ScheduleDispatch;
  logger: Logger;
  /** Without one, every start is a fresh start: fires missed while the process was down go unnoticed. */
  checkpoint?: SchedulerCheckpoint;
  /** How late a fire may be dispatched and still count as on time. @default LATE_FIRE_TOLERANCE_MS */
  lateToleranceMs?: number;
  /**
   * Dispatches in flight at once. Thousands of jobs firing at the same minute are started a few at a
   * time, so the runs already started keep their share of DynamoDB and the workers. @default 8
   */
  maxConcurrentDispatches?: number;
}

/**
 * How late a fire may be dispatched and still run: a fire due while the runtime was down (or the machine
 * asleep) runs, late, if the scheduler is back within this long of it; later than that it is missed (and
 * runs only under `catchup: latest`).
 */
export const LATE_FIRE_TOLERANCE_MS = 60_000;

/**
 * Waits before the second and third attempt of a fire whose dispatch failed, as Lambda retries an
 * asynchronous invocation twice; dispatch deduplicates on the fire time, so a retry never runs it twice.
 */
export const DISPATCH_RETRY_DELAYS_MS = [2_000, 10_000] as const;

/** Due fires counted one by one at most; past that the count is reported as a lower bound. */
const MAX_COUNTED_FIRES = 1_000;
/** Fires computed ahead per job at a time. */
const FIRES_PER_PAGE = 64;
/** How far back to look for the latest due fire when there were too many to count. */
const LATEST_SEARCH_WINDOWS_MS = [3_600_000, 86_400_000, 8 * 86_400_000, 32 * 86_400_000, 367 * 86_400_000];

interface ScheduledJob {
  schedule: JobSchedule;
  cron: CronExpression;
  /** Every fire at or before this instant (epoch ms) is handled; null until `start()` for jobs put before it. */
  cursor: number | null;
  /** The next fires after the cursor, earliest first: a cache refilled a page at a time. */
  upcoming: number[];
  /** The last refill found no fire at all (an expression such as `0 0 30 2 *`). */
  exhausted: boolean;
}

interface DueFires {
  count: number;
  /** More fires were due than `count` says. */
  countIsLowerBound: boolean;
  latest: number;
}

/**
 * The local `Scheduler`: one timer, armed for the earliest next fire over all enabled jobs. See the
 * module documentation for the DST and missed-fire rules.
 */
export class LocalScheduler implements Scheduler {
  private readonly clock: TimerClock;
  private readonly dispatch: ScheduleDispatch;
  private readonly logger: Logger;
  private readonly checkpoint: SchedulerCheckpoint | undefined;
  private readonly lateToleranceMs: number;
  private readonly jobs = new Map<string, ScheduledJob>();
  private readonly pending = new Set<Promise<void>>();
  private state: 'created' | 'starting' | 'running' | 'stopped' = 'created';
  private cancelTimer: (() => void) | null = null;
  /** Timers of dispatch retries not yet made, cancelled by `stop()`. */
  private readonly retryTimers = new Set<() => void>();
  /** Dispatches waiting for one of the `maxConcurrentDispatches` slots, earliest scheduled time first. */
  private readonly waiting: { at: string; start: () => void }[] = [];
  private inFlight = 0;
  private readonly maxConcurrentDispatches: number;
  /** Checkpoint writes run one after another, so the last one written is the latest instant. */
  private checkpointWrites: Promise<void> = Promise.resolve();

  constructor(options: LocalSchedulerOptions) {
    const lateToleranceMs = options.lateToleranceMs ?? LATE_FIRE_TOLERANCE_MS;
    if (!Number.isFinite(lateToleranceMs) || lateToleranceMs < 0)
      throw new RangeError('lateToleranceMs must be a non-negative number.');
    this.clock = options.clock;
    this.dispatch = options.dispatch;
    this.logger = options.logger;
    this.checkpoint = options.checkpoint;
    this.lateToleranceMs = lateToleranceMs;
    this.maxConcurrentDispatches = options.maxConcurrentDispatches ?? 8;
    if (!Number.isInteger(this.maxConcurrentDispatches) || this.maxConcurrentDispatches < 1)
      throw new RangeError('maxConcurrentDispatches must be a positive integer.');
  }

  /**
   * Stores the job's schedule. A new job, or a change of expression, zone or enabled flag, starts the
   * job's cursor at now (no catch-up of earlier fires); any other put keeps it. A disabled job is kept
   * (`list` reports it) but never fires. Throws, storing nothing, on an invalid expression or zone.
   */
  async put(schedule: JobSchedule): Promise<void> {
    const cron = parseCron(schedule.cron);
    assertTimeZone(schedule.timezone);
    const stored: JobSchedule = { ...schedule, expressions: [...schedule.expressions] };
    const existing = this.jobs.get(schedule.jobId);
    if (existing && sameTiming(existing.schedule, stored)) {
      existing.schedule = stored;
    } else {
      this.jobs.set(schedule.jobId, {
        schedule: stored,
        cron,
        cursor: this.state === 'running' ? this.clock.now().getTime() : null,
        upcoming: [],
        exhausted: false,
      });
    }
    this.evaluate();
  }

  async remove(jobId: string): Promise<void> {
    this.jobs.delete(jobId);
    this.evaluate();
  }

  /** Every stored job (enabled or not), by job id, with one state per EventBridge expression. */
  async list(): Promise<{ jobId: string; schedules: ScheduleState[] }[]> {
    return [...this.jobs.values()]
      .map(({ schedule }) => ({
        jobId: schedule.jobId,
        schedules: schedule.expressions.map((expression, index) => ({
          index,
          expression,
          timezone: schedule.timezone,
          enabled: schedule.enabled,
          // The local scheduler holds exactly what was put: no target settings to fall out of date.
          stale: false,
        })),
      }))
      .sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  }

  /**
   * Reads the checkpoint, starts the cursors of the jobs put so far there (now if there is none, or it
   * is in the future), handles the fires missed since, and arms the timer. Call once, after feeding it
   * every job.
   */
  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error('The local scheduler can only be started once.');
    this.state = 'starting';
    const saved = await this.readCheckpoint();
    if (this.state !== 'starting') return;
    const now = this.clock.now().getTime();
    const from = saved === null ? now : Math.min(saved.getTime(), now);
    for (const job of this.jobs.values()) job.cursor ??= from;
    this.state = 'running';
    this.logger.info('local scheduler started', {
      jobs: this.jobs.size,
      checkpoint: saved?.toISOString() ?? null,
    });
    this.evaluate();
  }

  /**
   * Handles the fires due by now (so the checkpoint can say now), cancels the timer, and waits for the
   * dispatches in flight and the checkpoint write. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.state === 'running') this.evaluate();
    this.state = 'stopped';
    this.disarm();
    if (this.retryTimers.size > 0) {
      this.logger.warn('stopping with dispatch retries pending; those fires are not run', {
        retries: this.retryTimers.size,
      });
    }
    for (const cancel of this.retryTimers) cancel();
    this.retryTimers.clear();
    await this.idle();
  }

  /** Resolves when no dispatch or checkpoint write is in flight (tests await it between timer fires). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Handles every enabled job's due fires, saves the checkpoint, and re-arms the timer. */
  private evaluate(): void {
    if (this.state !== 'running') return;
    this.disarm();
    const now = this.clock.now().getTime();
    const fires: { jobId: string; scheduledTime: string }[] = [];
    for (const job of this.jobs.values()) {
      if (!job.schedule.enabled) continue;
      try {
        const scheduledTime = this.fireDue(job, now);
        if (scheduledTime !== null) fires.push({ jobId: job.schedule.jobId, scheduledTime });
      } catch (error) {
        // Not expected (put validated the expression and zone); the job must not stop the others.
        this.logger.error('schedule evaluation failed', { jobId: job.schedule.jobId, error });
        job.cursor = Math.max(job.cursor ?? now, now);
        job.upcoming = [];
      }
    }
    // The earliest fire first (a late catch-up before the minute that just began), then by job id.
    fires.sort((a, b) => compare(a.scheduledTime, b.scheduledTime) || compare(a.jobId, b.jobId));
    for (const fire of fires) this.launch(fire.jobId, fire.scheduledTime);
    this.saveCheckpoint(now);
    this.arm();
  }

  /** Moves the job's cursor to now; answers the fire to dispatch for it, if any. */
  private fireDue(job: ScheduledJob, now: number): string | null {
    const cursor = job.cursor ?? now;
    // A cursor ahead of now means the wall clock was set back: those fires were handled already.
    if (now <= cursor) return null;
    const due = this.dueFires(job, cursor, now);
    job.cursor = now;
    if (!due) return null;
    const { jobId, catchup } = job.schedule;
    const scheduledTime = new Date(due.latest).toISOString();
    const lateByMs = now - due.latest;
    const onTime = lateByMs <= this.lateToleranceMs;
    const dispatchLatest = onTime || catchup === 'latest';
    const missed = dispatchLatest ? due.count - 1 : due.count;
    if (missed > 0 || due.countIsLowerBound) {
      this.logger.info('schedule fires missed', {
        jobId,
        catchup,
        missed,
        missedIsLowerBound: due.countIsLowerBound,
        latestScheduledTime: scheduledTime,
        lateByMs,
      });
    }
    if (!dispatchLatest) return null;
    if (onTime) this.logger.debug('schedule fired', { jobId, scheduledTime });
    else this.logger.info('dispatching the latest missed fire', { jobId, scheduledTime, lateByMs });
    return scheduledTime;
  }

  /** The fires after `cursor` and at or before `now`, consumed from the job's cache; null if none. */
  private dueFires(job: ScheduledJob, cursor: number, now: number): DueFires | null {
    let count = 0;
    let latest: number | null = null;
    for (;;) {
      if (job.upcoming.length === 0) this.refill(job, latest ?? cursor);
      const next = job.upcoming[0];
      if (next === undefined || next > now) break;
      job.upcoming.shift();
      count++;
      latest = next;
      if (count >= MAX_COUNTED_FIRES) {
        // Months of downtime for an every-minute job: stop counting and look for the latest directly.
        const last = latestFireAtOrBefore(job, next, now) ?? next;
        job.upcoming = [];
        job.exhausted = false;
        return { count, countIsLowerBound: last > next, latest: last };
      }
    }
    return latest === null ? null : { count, countIsLowerBound: false, latest };
  }

  private refill(job: ScheduledJob, after: number): void {
    if (job.exhausted) return;
    const { fires } = nextFireTimes(job.cron, job.schedule.timezone, new Date(after), FIRES_PER_PAGE);
    job.upcoming = fires.map((fire) => fire.at.getTime());
    job.exhausted = fires.length === 0;
  }

  private arm(): void {
    let earliest: number | null = null;
    for (const job of this.jobs.values()) {
      if (!job.schedule.enabled || job.cursor === null) continue;
      if (job.upcoming.length === 0) this.refill(job, job.cursor);
      const next = job.upcoming[0];
      if (next !== undefined && (earliest === null || next < earliest)) earliest = next;
    }
    if (earliest === null) return;
    this.cancelTimer = this.clock.setTimer(new Date(earliest), () => {
      this.cancelTimer = null;
      this.evaluate();
    });
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  /**
   * Dispatches one fire. A failure is retried after each of `DISPATCH_RETRY_DELAYS_MS` (on the clock's
   * timers, not inside the tracked promise, so `idle()` does not wait for a retry that is minutes away).
   */
  private launch(jobId: string, scheduledTime: string, attempt = 1): void {
    this.track(
      (async () => {
        await this.acquireSlot(scheduledTime);
        try {
          await this.dispatch(jobId, scheduledTime);
        } catch (error) {
          const delay = DISPATCH_RETRY_DELAYS_MS[attempt - 1];
          const retry = delay !== undefined && this.state === 'running';
          this.logger.error(retry ? 'scheduled dispatch failed; retrying' : 'scheduled dispatch failed', {
            jobId,
            scheduledTime,
            attempt,
            error,
          });
          if (retry) this.retryLater(jobId, scheduledTime, attempt + 1, delay);
        } finally {
          this.releaseSlot();
        }
      })(),
    );
  }

  /** A dispatch slot; while none is free, fires wait in scheduled-time order (ties: first come first). */
  private acquireSlot(at: string): Promise<void> {
    if (this.inFlight < this.maxConcurrentDispatches) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((start) => {
      let index = this.waiting.length;
      while (index > 0 && compare(this.waiting[index - 1]?.at ?? '', at) > 0) index--;
      this.waiting.splice(index, 0, { at, start });
    });
  }

  /** Hands the slot to the next waiting dispatch, or frees it. */
  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.inFlight--;
  }

  private retryLater(jobId: string, scheduledTime: string, attempt: number, delayMs: number): void {
    const cancel = this.clock.setTimer(new Date(this.clock.now().getTime() + delayMs), () => {
      this.retryTimers.delete(cancel);
      if (this.state === 'running') this.launch(jobId, scheduledTime, attempt);
    });
    this.retryTimers.add(cancel);
  }

  private saveCheckpoint(at: number): void {
    const checkpoint = this.checkpoint;
    if (!checkpoint) return;
    const write = this.checkpointWrites.then(async () => {
      try {
        await checkpoint.write(new Date(at));
      } catch (error) {
        this.logger.error('scheduler checkpoint write failed', {
          checkpoint: new Date(at).toISOString(),
          error,
        });
      }
    });
    this.checkpointWrites = write;
    this.track(write);
  }

  private async readCheckpoint(): Promise<Date | null> {
    if (!this.checkpoint) return null;
    try {
      const saved = await this.checkpoint.read();
      return saved !== null && Number.isFinite(saved.getTime()) ? saved : null;
    } catch (error) {
      // A broken checkpoint must not keep the runtime from starting; the cost is undetected missed fires.
      this.logger.error('scheduler checkpoint read failed; starting without one', { error });
      return null;
    }
  }

  /** `promise` must not reject. */
  private track(promise: Promise<void>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }
}

/**
 * A checkpoint kept in a file (ISO instant), written atomically (temporary file, then rename). A missing
 * or unreadable file reads as no checkpoint.
 */
export function fileSchedulerCheckpoint(path: string): SchedulerCheckpoint {
  return {
    async read() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const saved = new Date(text.trim());
      return Number.isFinite(saved.getTime()) ? saved : null;
    },
    async write(at) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${process.pid}.tmp`;
      // The data directory may be the user's own (0755): its files stay private whatever its mode.
      await writeFile(temporary, `${at.toISOString()}\n`, { mode: 0o600 });
      await rename(temporary, path);
    },
  };
}

/** The latest fire after `after` and at or before `now`, looking back from now in widening windows. */
function latestFireAtOrBefore(job: ScheduledJob, after: number, now: number): number | null {
  const { cron } = job;
  const { timezone } = job.schedule;
  for (const window of [...LATEST_SEARCH_WINDOWS_MS, Number.POSITIVE_INFINITY]) {
    const start = Math.max(after, now - window);
    let from = start;
    let latest: number | null = null;
    for (;;) {
      const { fires } = nextFireTimes(cron, timezone, new Date(from), FIRES_PER_PAGE);
      const due = fires.filter((fire) => fire.at.getTime() <= now);
      const last = due.at(-1);
      if (last) latest = last.at.getTime();
      if (!last || due.length < fires.length || fires.length < FIRES_PER_PAGE) break;
      from = last.at.getTime();
    }
    if (latest !== null || start <= after) return latest;
  }
  return null;
}

/** Orders ISO instants and job ids alike (same-length ISO strings sort as their instants). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameTiming(a: JobSchedule, b: JobSchedule): boolean {
  return a.cron === b.cron && a.timezone === b.timezone && a.enabled === b.enabled;
}

function assertTimeZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch (error) {
    throw new RangeError(`Unknown IANA timezone "${timezone}".`, { cause: error });
  }
}
