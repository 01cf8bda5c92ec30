import { toEventBridgeCron, UntranslatableCronError } from '../domain/aws-cron.js';
import { CronSyntaxError, parseCron } from '../domain/cron.js';
import { CALENDAR_CYCLE_DAYS, neverFires, nextFireTimes } from '../domain/cron-schedule.js';
import { type ErrorDetail, ValidationError } from '../domain/errors.js';
import { isIanaTimezone, type Job, rejectRepeatedParameters } from '../domain/job.js';

const MAX_PREVIEW = 100;

/** `GET /cron/preview?expression=&timezone=&count=`: the next fires in the zone and in UTC, DST effects flagged. */
export function previewSchedule(query: Record<string, string | undefined>, now: Date) {
  // A repeated `expression` cannot be told apart: API Gateway joins repeats with ",", which an expression
  // may contain (`0 9 * * 1,3,5`). The joined value is then read as one expression, usually a 422.
  rejectRepeatedParameters(query, ['timezone', 'count']);
  const problems: ErrorDetail[] = [];
  for (const name of Object.keys(query)) {
    if (!['expression', 'timezone', 'count'].includes(name)) {
      problems.push({ path: name, message: 'is not a known query parameter', code: 'unknown_field' });
    }
  }
  const expression = query.expression;
  const timezone = query.timezone ?? 'UTC';
  let cron: ReturnType<typeof parseCron> | null = null;
  if (expression === undefined || expression.trim() === '') {
    problems.push({ path: 'expression', message: 'is required', code: 'required' });
  } else {
    try {
      cron = parseCron(expression);
      toEventBridgeCron(cron);
      if (neverFires(cron)) {
        problems.push({
          path: 'expression',
          message: 'never fires: no month has the day it names (for example "0 0 30 2 *")',
          code: 'never_fires',
        });
        cron = null;
      }
    } catch (error) {
      if (error instanceof UntranslatableCronError) {
        problems.push({
          path: 'expression',
          message: `cannot be scheduled: ${error.message}`,
          code: 'untranslatable_cron',
        });
        cron = null;
      } else if (!(error instanceof CronSyntaxError)) throw error;
      else
        problems.push({
          path: 'expression',
          message: `is not a valid 5-field cron expression: ${error.message}`,
          code: 'invalid_cron',
        });
    }
  }
  if (!isIanaTimezone(timezone)) {
    problems.push({
      path: 'timezone',
      message: 'is not a known IANA timezone (for example "UTC" or "America/New_York")',
      code: 'invalid',
    });
  }
  const countText = query.count ?? '10';
  const count = /^\d+$/.test(countText) ? Number(countText) : Number.NaN;
  if (!(count >= 1 && count <= MAX_PREVIEW)) {
    problems.push({
      path: 'count',
      message: `must be a whole number from 1 to ${MAX_PREVIEW}`,
      code: 'invalid',
    });
  }
  if (problems.length > 0 || cron === null) throw new ValidationError(problems);
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
