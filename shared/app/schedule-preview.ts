import { toEventBridgeCron, UntranslatableCronError } from '../domain/aws-cron.js';
import { CronSyntaxError, parseCron } from '../domain/cron.js';
import { CALENDAR_CYCLE_DAYS, nextFireTimes } from '../domain/cron-schedule.js';
import { ValidationError } from '../domain/errors.js';
import { cronScheduleProblem, type Job } from '../domain/job.js';
import type { SchedulePreview, SchedulePreviewRequest } from '../domain/schedule-preview.js';

/**
 * `GET /cron/preview` and `jobs cron`: the next `count` fires of a schedulable expression in the zone and
 * in UTC, DST effects flagged. The request's parameters are read and checked by the caller (the route's
 * query schema); an expression that cannot be a job's schedule is still refused here, as job creation
 * refuses it.
 */
export function previewSchedule(request: SchedulePreviewRequest, now: Date): SchedulePreview {
  const { expression, timezone, count } = request;
  const problem = cronScheduleProblem(expression);
  if (problem) throw new ValidationError([{ path: 'expression', ...problem }]);
  const cron = parseCron(expression);
  // Over a whole calendar cycle, so a leap-day expression still lists `count` fires.
  const { fires, skipped } = nextFireTimes(cron, timezone, now, count, CALENDAR_CYCLE_DAYS);
  const last = fires.at(-1)?.local;
  return {
    expression,
    timezone,
    schedule_expression: toEventBridgeCron(cron),
    fires: fires.map((fire) => ({
      local: fire.local,
      utc: fire.at.toISOString(),
      repeated_local_time: fire.repeated,
    })),
    // Local times the expression names that do not exist (clocks sprang forward): those fires are dropped.
    skipped: skipped.filter((skip) => last === undefined || skip.local < last),
  };
}

/** What a cron job's answer adds: when it fires next (null while disabled) and its EventBridge expression(s). */
export function cronDetails(
  job: Job,
  now: Date,
): { next_run_at: string | null; schedule_expression: string[] } | null {
  if (job.trigger_type !== 'cron' || job.cron_schedule === null) return null;
  let cron: ReturnType<typeof parseCron>;
  let expressions: string[];
  try {
    cron = parseCron(job.cron_schedule);
    expressions = toEventBridgeCron(cron);
  } catch (error) {
    // Only a job stored before today's validation: it has no schedule and does not fire.
    if (error instanceof CronSyntaxError || error instanceof UntranslatableCronError) {
      return { next_run_at: null, schedule_expression: [] };
    }
    throw error;
  }
  const next = job.enabled ? nextFireTimes(cron, job.cron_timezone, now, 1).fires[0] : undefined;
  return { next_run_at: next?.at.toISOString() ?? null, schedule_expression: expressions };
}
