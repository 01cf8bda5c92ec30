import { toEventBridgeCron, UntranslatableCronError } from '../domain/aws-cron.js';
import { CronSyntaxError, parseCron } from '../domain/cron.js';
import type { Job } from '../domain/job.js';
import { runSettings } from '../domain/run-config.js';
import type { JobSchedule, JobStore, Logger, Scheduler, ScheduleState, VersionedJob } from '../ports.js';

export interface ScheduleSyncDeps {
  jobs: Pick<JobStore, 'get' | 'list'>;
  scheduler: Scheduler;
  logger: Logger;
}

/** What reconciliation found and did. */
export interface ReconcileReport {
  /** Cron jobs compared with their schedules. */
  checked: number;
  /** Jobs whose schedules were missing or different and were written again. */
  repaired: number;
  /** Jobs with schedules but no cron job any more: their schedules were deleted. */
  removed: number;
  /** Jobs that could not be repaired this time (the next run tries again). */
  failed: number;
}

/** How often a sync re-reads the job after writing its schedule, while other writes keep changing it. */
const MAX_SYNC_ROUNDS = 3;

/** Jobs read per page while reconciling. */
const RECONCILE_PAGE_SIZE = 100;

/**
 * What a job's schedules must be; null for a job that has none: not a cron job, or (only for jobs stored
 * before today's validation) an expression that cannot be scheduled, which must then not fire either.
 */
export function scheduleOf(job: Job): JobSchedule | null {
  if (job.trigger_type !== 'cron' || job.cron_schedule === null) return null;
  let expressions: string[];
  try {
    expressions = toEventBridgeCron(parseCron(job.cron_schedule));
  } catch (error) {
    if (error instanceof CronSyntaxError || error instanceof UntranslatableCronError) return null;
    throw error;
  }
  return {
    jobId: job.id,
    cron: job.cron_schedule,
    expressions,
    timezone: job.cron_timezone,
    enabled: job.enabled,
    catchup: runSettings(job.config).catchup,
  };
}

/** Whether a change from `before` to `after` changes what the job's schedules must be. */
export function scheduleChanged(before: Job | null, after: Job | null): boolean {
  const a = before ? scheduleOf(before) : null;
  const b = after ? scheduleOf(after) : null;
  return JSON.stringify(a) !== JSON.stringify(b);
}

/**
 * Keeps the Scheduler in line with the jobs table, which is the truth: a job's schedules are derived
 * from it, written after the job. Two ways to converge:
 * - `sync(jobId)` after each job write: write the schedule from the stored job, then read the job again
 *   and repeat if it changed meanwhile, so concurrent writes whose schedule calls land out of order
 *   still end on the latest job;
 * - `reconcile()` on a timer: every cron job's schedules are compared with the Scheduler's and repaired,
 *   and schedules whose job is gone are deleted. This repairs whatever a failed `sync` left behind.
 */
export class ScheduleSync {
  constructor(private readonly deps: ScheduleSyncDeps) {}

  /** Brings the job's schedules in line with the stored job (removes them when it is gone or not cron). */
  async sync(jobId: string): Promise<void> {
    let current = await this.deps.jobs.get(jobId);
    for (let round = 1; round <= MAX_SYNC_ROUNDS; round++) {
      await this.apply(jobId, current);
      const after = await this.deps.jobs.get(jobId);
      if ((after?.version ?? null) === (current?.version ?? null)) return;
      current = after;
    }
    // Still changing: the last writer's own sync (or reconciliation) finishes the job.
    this.deps.logger.warn('job kept changing while its schedule was written', { jobId });
  }

  private async apply(jobId: string, current: VersionedJob | null): Promise<void> {
    const schedule = current ? scheduleOf(current.job) : null;
    if (schedule) await this.deps.scheduler.put(schedule);
    else await this.deps.scheduler.remove(jobId);
  }

  /** Puts every cron job's schedule as stored, without comparing: how the in-process scheduler is fed at start. */
  async restore(): Promise<number> {
    let count = 0;
    for await (const job of this.cronJobs()) {
      const schedule = scheduleOf(job);
      if (!schedule) continue;
      await this.deps.scheduler.put(schedule);
      count++;
    }
    return count;
  }

  /** Every cron job of the table, a page at a time. */
  private async *cronJobs(): AsyncGenerator<Job> {
    let cursor: string | undefined;
    do {
      const page = await this.deps.jobs.list({
        trigger_type: 'cron',
        limit: RECONCILE_PAGE_SIZE,
        ...(cursor !== undefined && { cursor }),
      });
      yield* page.jobs;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  /**
   * Compares every cron job with its schedules and repairs the difference. The Scheduler is listed
   * before the jobs, so a job created meanwhile is never taken for an orphan; an orphan's job is looked
   * up once more before its schedules are deleted.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { checked: 0, repaired: 0, removed: 0, failed: 0 };
    const actual = new Map((await this.deps.scheduler.list()).map((entry) => [entry.jobId, entry.schedules]));
    for await (const job of this.cronJobs()) {
      report.checked++;
      const schedule = scheduleOf(job);
      const schedules = actual.get(job.id) ?? [];
      actual.delete(job.id);
      if (!schedule) {
        this.deps.logger.warn('cron job whose expression cannot be scheduled; it does not fire', {
          jobId: job.id,
          cronSchedule: job.cron_schedule,
        });
        if (schedules.length === 0) continue;
      } else if (matches(schedule, schedules)) continue;
      await this.repair(job.id, 'repaired', report, () => this.sync(job.id));
    }

    for (const jobId of actual.keys()) {
      await this.repair(jobId, 'removed', report, async () => {
        const stored = await this.deps.jobs.get(jobId);
        if (stored && scheduleOf(stored.job)) await this.sync(jobId);
        else await this.deps.scheduler.remove(jobId);
      });
    }
    return report;
  }

  private async repair(
    jobId: string,
    kind: 'repaired' | 'removed',
    report: ReconcileReport,
    fix: () => Promise<void>,
  ): Promise<void> {
    const reason = kind === 'removed' ? 'schedule without a cron job' : 'schedule missing or different';
    try {
      await fix();
      report[kind]++;
      this.deps.logger.warn('schedule repaired', { jobId, reason });
    } catch (error) {
      report.failed++;
      this.deps.logger.error('schedule repair failed; the next reconciliation tries again', {
        jobId,
        reason,
        error,
      });
    }
  }
}

/** Whether the Scheduler's schedules of a job are exactly what the job needs. */
function matches(schedule: JobSchedule, states: readonly ScheduleState[]): boolean {
  return (
    states.length === schedule.expressions.length &&
    states.every(
      (state, index) =>
        state.index === index &&
        state.expression === schedule.expressions[index] &&
        state.timezone === schedule.timezone &&
        state.enabled === schedule.enabled &&
        !state.stale,
    )
  );
}
