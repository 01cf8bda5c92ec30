import { type CronExpression, CronSyntaxError, parseCron } from '../shared/domain/cron.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (value: number) => String(value).padStart(2, '0');

/** Sorted values, runs of three or more consecutive ones folded into `first–last`. */
function runs(values: Iterable<number>, name: (value: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let start = 0; start < sorted.length; ) {
    let end = start;
    while (end + 1 < sorted.length && (sorted[end + 1] as number) === (sorted[end] as number) + 1) end++;
    const first = sorted[start] as number;
    const last = sorted[end] as number;
    if (end - start >= 2) parts.push(`${name(first)}–${name(last)}`);
    else for (let index = start; index <= end; index++) parts.push(name(sorted[index] as number));
    start = end + 1;
  }
  return parts.join(', ');
}

/** `n` when the values are every n-th from the field's minimum (what a step such as `0-59/15` gives), else null. */
function stepOf(values: ReadonlySet<number>, min: number, max: number): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length < 2 || sorted[0] !== min) return null;
  const step = (sorted[1] as number) - (sorted[0] as number);
  const expected = Math.floor((max - min) / step) + 1;
  if (sorted.length !== expected) return null;
  return sorted.every((value, index) => value === min + index * step) ? step : null;
}

function timeOfDay(cron: CronExpression): string {
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  const hours = [...cron.hours].sort((a, b) => a - b);
  const everyMinute = minutes.length === 60;
  const everyHour = hours.length === 24;
  const minuteStep = stepOf(cron.minutes, 0, 59);
  const hourStep = stepOf(cron.hours, 0, 23);
  if (everyMinute && everyHour) return 'every minute';
  if (minuteStep !== null && everyHour) return `every ${minuteStep} minutes`;
  if (everyMinute) return `every minute during hour ${runs(hours, pad)}`;
  if (minutes.length === 1) {
    const minute = minutes[0] as number;
    if (everyHour) return minute === 0 ? 'every hour, on the hour' : `every hour at :${pad(minute)}`;
    if (hourStep !== null) return `every ${hourStep} hours at :${pad(minute)}`;
    if (hours.length <= 6) return `at ${hours.map((hour) => `${pad(hour)}:${pad(minute)}`).join(', ')}`;
    return `at :${pad(minute)} past hours ${runs(hours, pad)}`;
  }
  const minuteText = minuteStep !== null ? `every ${minuteStep} minutes` : `at minutes ${runs(minutes, pad)}`;
  return everyHour ? minuteText : `${minuteText} during hours ${runs(hours, pad)}`;
}

function days(cron: CronExpression): string {
  const weekdays = cron.dayOfWeekRestricted ? `on ${runs(cron.daysOfWeek, (day) => DAYS[day] ?? '?')}` : '';
  const monthDays = cron.dayOfMonthRestricted ? `on day ${runs(cron.daysOfMonth, String)} of the month` : '';
  // Unix cron runs on either day when both fields are restricted.
  if (weekdays && monthDays) return `${monthDays} or ${weekdays}`;
  return weekdays || monthDays;
}

/**
 * A five-field cron expression in words (`"at 09:00, on Mon–Fri"`), or null when it does not parse.
 * Times are wall-clock times in the job's zone.
 */
export function cronInWords(expression: string): string | null {
  let cron: CronExpression;
  try {
    cron = parseCron(expression);
  } catch (error) {
    if (error instanceof CronSyntaxError) return null;
    throw error;
  }
  const parts = [timeOfDay(cron)];
  const dayText = days(cron);
  if (dayText) parts.push(dayText);
  if (cron.months.size < 12) parts.push(`in ${runs(cron.months, (month) => MONTHS[month - 1] ?? '?')}`);
  return parts.join(', ');
}
