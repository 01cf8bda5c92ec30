import type { CronExpression } from './cron.js';

/**
 * Unix cron → EventBridge Scheduler `cron(minutes hours day-of-month month day-of-week year)`.
 *
 * EventBridge numbers weekdays 1–7 from Sunday (Unix: 0–6, 7 = Sunday), needs `?` in one of the two
 * day fields, and cannot restrict both at once, while Unix cron fires when EITHER restricted day field
 * matches. Such an expression becomes two schedules, one per day field, whose fire times together are
 * the Unix ones; a time that matches both fires from both schedules, and the dispatch's dedupe on
 * (job, scheduled time) keeps it to one run. Fields are written from the parsed value sets, so any
 * Unix spelling (names, `7`, steps over ranges) comes out in a form EventBridge accepts.
 */
export function toEventBridgeCron(cron: CronExpression): string[] {
  const minutes = field(cron.minutes, 0, 59);
  const hours = field(cron.hours, 0, 23);
  const months = field(cron.months, 1, 12);
  const daysOfMonth = field(cron.daysOfMonth, 1, 31);
  // EventBridge's day-of-week field takes `, - * ? L #` but no `/`: steps are written out as lists.
  const daysOfWeek = field(new Set([...cron.daysOfWeek].map((day) => day + 1)), 1, 7, { steps: false });
  const build = (dom: string, dow: string) => `cron(${minutes} ${hours} ${dom} ${months} ${dow} *)`;
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) {
    return [build(daysOfMonth, '?'), build('?', daysOfWeek)];
  }
  // Otherwise Unix cron requires both day fields to match (one may still be a step such as `*/10`).
  if (daysOfWeek === '*') return [build(daysOfMonth, '?')];
  if (daysOfMonth === '*') return [build('?', daysOfWeek)];
  throw new UntranslatableCronError(
    'a day-of-month step like "*/10" together with a day of week means "both must match", which EventBridge Scheduler cannot express; list the days of the month instead (for example "1,11,21,31")',
  );
}

export class UntranslatableCronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntranslatableCronError';
  }
}

/**
 * `*` for the whole range, `start/step` for a progression to the end of it (where the field allows steps),
 * else ranges and values.
 */
function field(values: ReadonlySet<number>, min: number, max: number, options = { steps: true }): string {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === max - min + 1) return '*';
  const first = sorted[0] as number;
  if (options.steps && sorted.length > 2) {
    const step = (sorted[1] as number) - first;
    const progression = sorted.every((value, index) => value === first + index * step);
    // EventBridge reads a/b as "from a to the end of the field, every b", so the progression must reach it.
    if (progression && step > 1 && (sorted.at(-1) as number) + step > max) return `${first}/${step}`;
  }
  const parts: string[] = [];
  let start = first;
  let previous = first;
  for (const value of sorted.slice(1)) {
    if (value === previous + 1) {
      previous = value;
      continue;
    }
    parts.push(start === previous ? String(start) : `${start}-${previous}`);
    start = value;
    previous = value;
  }
  parts.push(start === previous ? String(start) : `${start}-${previous}`);
  return parts.join(',');
}
